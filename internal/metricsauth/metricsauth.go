// Package metricsauth lets through to /metrics only a request whose bearer
// token the API server authenticates (a TokenReview) and whose user it
// authorizes for the request's verb on its path, a non-resource URL (a
// SubjectAccessReview): the way Kubernetes' own components guard their
// /metrics.
//
// It is scaleguard's own, in place of controller-runtime's
// filters.WithAuthenticationAndAuthorization, for a measured reason: that
// filter is built on k8s.io/apiserver's delegating authenticator and
// authorizer, which brought 255 packages (gRPC, OpenTelemetry, CEL among
// them) into every build of scaleguard, the flag on or off. The -trimpath
// binary grew from 52.0 to 94.3 MB and an idle `scaleguard serve
// --cluster-view=false` from 34–36 to 49–51 MiB resident; with this
// package they are 52.1 MB and 32–33 MiB, because it only calls the
// client-go clients the binary already has (docs/operations.md, "Securing
// /metrics"). It also answers a token the API server rejects with 401,
// where that filter answered 500: it took the error the TokenReview's
// status carries for a failure to ask.
//
// The answers are cached for the lifetimes that filter gave the delegating
// authenticator and authorizer, so the cost to the API server stays what it
// was (see TokenTTL, AllowedTTL and DeniedTTL).
package metricsauth

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/cache"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Filter guards a handler with the API server's TokenReviews and
// SubjectAccessReviews. It is safe for concurrent use.
type Filter struct {
	tokenReviews  authenticationv1client.TokenReviewInterface
	accessReviews authorizationv1client.SubjectAccessReviewInterface
	// reviews holds what the API server said of a token, keyed by the
	// token's SHA-256 (tokenKey): the token itself is kept nowhere.
	reviews *cache.LRUExpireCache
	// access holds the SubjectAccessReviews' decisions, by accessKey.
	access *cache.LRUExpireCache
	log    logr.Logger
}

// NewForConfig is a Filter asking the API server at cfg, as the identity
// cfg carries; that identity needs create on tokenreviews and
// subjectaccessreviews. It fails when no client can be built from cfg (an
// unreadable CA file, say), rather than at the first scrape.
func NewForConfig(cfg *rest.Config, log logr.Logger) (*Filter, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("API server client: %w", err)
	}
	authn, err := authenticationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("API server client: %w", err)
	}
	authz, err := authorizationv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("API server client: %w", err)
	}
	return New(authn.TokenReviews(), authz.SubjectAccessReviews(), clock.RealClock{}, log), nil
}

// New is a Filter asking through the given clients, with clk timing its
// caches' entries.
func New(tokenReviews authenticationv1client.TokenReviewInterface, accessReviews authorizationv1client.SubjectAccessReviewInterface, clk clock.PassiveClock, log logr.Logger) *Filter {
	return &Filter{
		tokenReviews:  tokenReviews,
		accessReviews: accessReviews,
		reviews:       cache.NewLRUExpireCacheWithClock(CacheSize, clk),
		access:        cache.NewLRUExpireCacheWithClock(CacheSize, clk),
		log:           log,
	}
}

// Wrap serves next to the requests the API server lets through. The others
// are answered, without calling next:
//   - 401 without a bearer token, or with one the API server does not
//     authenticate;
//   - 403 when it does not authorize the token's user for the request's
//     method, in lower case ("get"), on its path;
//   - 500 when it cannot be asked, or answers with an error, logged here.
func (f *Filter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			unauthorized(w)
			return
		}
		key := tokenKey(sha256.Sum256([]byte(token)))
		user, err := f.authenticate(r.Context(), key, token)
		if err != nil {
			f.log.Error(err, "cannot review a /metrics caller's token; answered 500")
			http.Error(w, "Authentication failed", http.StatusInternalServerError)
			return
		}
		if user == nil {
			f.log.V(1).Info("the API server does not authenticate a /metrics caller's token; answered 401", "path", r.URL.Path)
			unauthorized(w)
			return
		}
		verb := strings.ToLower(r.Method)
		allowed, reason, err := f.authorize(r.Context(), accessKey{token: key, verb: verb, path: r.URL.Path}, user)
		if err != nil {
			msg := fmt.Sprintf("Authorization for user %s failed", user.Username)
			f.log.Error(err, "cannot review a /metrics caller's access; answered 500", "user", user.Username, "verb", verb, "path", r.URL.Path)
			http.Error(w, msg, http.StatusInternalServerError)
			return
		}
		if !allowed {
			f.log.V(1).Info("the API server does not authorize a /metrics caller; answered 403", "user", user.Username, "verb", verb, "path", r.URL.Path, "reason", reason)
			http.Error(w, "Authorization denied for user "+user.Username, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken is the token of an "Authorization: Bearer <token>" header,
// read as the API server reads it.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	// The API server takes the text up to a further space as the token.
	token, _, _ = strings.Cut(token, " ")
	return token, token != ""
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="scaleguard metrics"`)
	http.Error(w, "Unauthorized", http.StatusUnauthorized)
}
