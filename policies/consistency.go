package policies

import autoscalingv2 "k8s.io/api/autoscaling/v2"

// behaviorConsistency is written against policies/scaling (pending).
func behaviorConsistency(hpa *autoscalingv2.HorizontalPodAutoscaler, s BehaviorConsistencySettings) Findings {
	return nil
}
