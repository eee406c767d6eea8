package load

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Server is a target with the process that serves it, whose CPU time is
// read around each run.
type Server struct {
	Target
	PID int
}

// SweepOptions shape a concurrency sweep.
type SweepOptions struct {
	Concurrency []int
	// Each server gets Rounds runs of Duration (or MaxReviews) per
	// concurrency, alternating with the other servers so that they share
	// the machine's noise.
	Duration   time.Duration
	MaxReviews int
	Rounds     int
	// Warmup runs each server once at the highest concurrency first.
	Warmup time.Duration
}

// Step is one concurrency level of a sweep: per server, the merged result
// and the CPU time its process used.
type Step struct {
	Concurrency int
	Results     map[string]Result
	CPU         map[string]time.Duration
}

// CPUPerReview is the server's CPU time per answered review.
func (s Step) CPUPerReview(server string) time.Duration {
	r := s.Results[server]
	if r.Reviews == 0 {
		return 0
	}
	return s.CPU[server] / time.Duration(r.Reviews)
}

// Sweep runs reviews against every server at each concurrency. Progress
// lines go to progress.
func Sweep(ctx context.Context, servers []Server, reviews []*Review, o SweepOptions, progress io.Writer) ([]Step, error) {
	if o.Rounds < 1 {
		o.Rounds = 1
	}
	if o.Warmup > 0 {
		top := o.Concurrency[len(o.Concurrency)-1]
		for _, s := range servers {
			r := Run(ctx, s.Target, Options{Concurrency: top, Duration: o.Warmup, Reviews: reviews})
			fmt.Fprintf(progress, "warm-up %-10s %6.0f reviews/s, %d errors, %d wrong\n", s.Name, r.Rate(), r.Errors, r.Wrong)
		}
	}
	var steps []Step
	for _, c := range o.Concurrency {
		runs := map[string][]Result{}
		step := Step{Concurrency: c, Results: map[string]Result{}, CPU: map[string]time.Duration{}}
		for round := range o.Rounds {
			for i := range servers {
				// ABBA…: the server that went last goes first next round.
				s := servers[i]
				if round%2 == 1 {
					s = servers[len(servers)-1-i]
				}
				before, err := CPUTime(s.PID)
				if err != nil {
					return nil, err
				}
				r := Run(ctx, s.Target, Options{Concurrency: c, Duration: o.Duration, MaxReviews: o.MaxReviews, Reviews: reviews})
				after, err := CPUTime(s.PID)
				if err != nil {
					return nil, err
				}
				step.CPU[s.Name] += after - before
				runs[s.Name] = append(runs[s.Name], r)
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
		}
		for _, s := range servers {
			step.Results[s.Name] = Merge(runs[s.Name]...)
			r := step.Results[s.Name]
			fmt.Fprintf(progress, "c=%-3d %-10s %6.0f reviews/s  p50 %-8v p99 %-8v cpu/review %-8v errors %d wrong %d\n",
				c, s.Name, r.Rate(), r.Percentile(0.5).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond),
				step.CPUPerReview(s.Name).Round(time.Microsecond), r.Errors, r.Wrong)
			for _, f := range r.Failures {
				fmt.Fprintln(progress, "   ", f)
			}
		}
		steps = append(steps, step)
	}
	return steps, nil
}
