package metricsauth

import (
	"context"
	"fmt"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The lifetimes of cached answers are those controller-runtime's filter
// gave k8s.io/apiserver's delegating authenticator (CacheTTL, which that
// authenticator uses for a token it authenticates and for one it does not)
// and authorizer (AllowCacheTTL, DenyCacheTTL). A scrape every 30 s with
// one token thus costs a TokenReview a minute and a SubjectAccessReview
// every five; a new grant applies within DeniedTTL, a revoked one within
// AllowedTTL, a revoked token within TokenTTL.
const (
	TokenTTL   = time.Minute
	AllowedTTL = 5 * time.Minute
	DeniedTTL  = 30 * time.Second
)

// CacheSize bounds each cache, of tokens and of decisions: the size of the
// delegating authorizer's cache. The least recently used entry makes room,
// so a flood of made-up tokens costs reviews, not memory.
const CacheSize = 8192

// ReviewTimeout bounds each review, the delegating authenticator's
// TokenAccessReviewTimeout. A review that fails is not retried: the
// scraper asks again at its next interval.
const ReviewTimeout = 10 * time.Second

// authenticatedGroup is the group the API server gives every authenticated
// user, added, as the delegating authenticator does, when a TokenReview
// leaves it out.
const authenticatedGroup = "system:authenticated"

// tokenKey is a token's SHA-256.
type tokenKey [32]byte

// accessKey is what a SubjectAccessReview's decision is cached under: the
// token stands for the user the API server authenticated it as.
type accessKey struct {
	token      tokenKey
	verb, path string
}

// tokenReview is what the API server said of a token: the user it
// authenticated, or nil.
type tokenReview struct {
	user *authenticationv1.UserInfo
}

// authenticate is the user token authenticates as, or nil when the API
// server does not authenticate it, from the cache if it was asked within
// TokenTTL. Only a failure to ask is an error.
func (f *Filter) authenticate(ctx context.Context, key tokenKey, token string) (*authenticationv1.UserInfo, error) {
	if cached, ok := f.reviews.Get(key); ok {
		return cached.(tokenReview).user, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ReviewTimeout)
	defer cancel()
	// No audiences: the API server checks the token against its own, as
	// for the delegating authenticator of controller-runtime's filter.
	review, err := f.tokenReviews.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenReview: %w", err)
	}
	var result tokenReview
	// A token the API server does not authenticate comes back with
	// Authenticated false and an Error saying why ("invalid bearer
	// token"): a rejection, not a failure to ask.
	if review.Status.Authenticated {
		user := review.Status.User
		if !slices.Contains(user.Groups, authenticatedGroup) {
			user.Groups = append(slices.Clip(user.Groups), authenticatedGroup)
		}
		result.user = &user
	}
	f.reviews.Add(key, result, TokenTTL)
	return result.user, nil
}

// authorize is the API server's decision on the user's access described
// by key, from the cache if it was asked within AllowedTTL (allowed) or
// DeniedTTL (denied), with the reason it gave.
func (f *Filter) authorize(ctx context.Context, key accessKey, user *authenticationv1.UserInfo) (bool, string, error) {
	if cached, ok := f.access.Get(key); ok {
		status := cached.(authorizationv1.SubjectAccessReviewStatus)
		return allowed(status), status.Reason, nil
	}
	var extra map[string]authorizationv1.ExtraValue
	if len(user.Extra) > 0 {
		extra = make(map[string]authorizationv1.ExtraValue, len(user.Extra))
		for k, v := range user.Extra {
			extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ReviewTimeout)
	defer cancel()
	review, err := f.accessReviews.Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:                  user.Username,
			UID:                   user.UID,
			Groups:                user.Groups,
			Extra:                 extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: key.path, Verb: key.verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("SubjectAccessReview: %w", err)
	}
	ttl := DeniedTTL
	if allowed(review.Status) {
		ttl = AllowedTTL
	}
	f.access.Add(key, review.Status, ttl)
	return allowed(review.Status), review.Status.Reason, nil
}

// allowed reads a SubjectAccessReview's decision: no opinion is a denial,
// and so is an answer that says both allowed and denied.
func allowed(s authorizationv1.SubjectAccessReviewStatus) bool {
	return s.Allowed && !s.Denied
}
