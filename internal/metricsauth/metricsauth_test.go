package metricsauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// apiServer answers TokenReviews and SubjectAccessReviews through client-go's
// fake clientset, as the API server would for the tokens and grants it holds,
// and keeps every review it was asked for.
type apiServer struct {
	// users are the tokens the API server authenticates.
	users map[string]authenticationv1.UserInfo
	// readers are the users it authorizes, for "verb path".
	readers map[string][]string
	// tokenErr and accessErr, when set, are the answers to every review.
	tokenErr, accessErr error

	tokenReviews  []authenticationv1.TokenReviewSpec
	accessReviews []authorizationv1.SubjectAccessReviewSpec
}

func (a *apiServer) clientset() *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "tokenreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		review := action.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		a.tokenReviews = append(a.tokenReviews, review.Spec)
		if a.tokenErr != nil {
			return true, nil, a.tokenErr
		}
		if user, ok := a.users[review.Spec.Token]; ok {
			review.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: user}
		} else {
			// What a real API server says of a forged token.
			review.Status = authenticationv1.TokenReviewStatus{Error: "[invalid bearer token, service account token could not be validated]"}
		}
		return true, review, nil
	})
	cs.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		a.accessReviews = append(a.accessReviews, review.Spec)
		if a.accessErr != nil {
			return true, nil, a.accessErr
		}
		attrs := review.Spec.NonResourceAttributes
		if attrs != nil && slices.Contains(a.readers[review.Spec.User], attrs.Verb+" "+attrs.Path) {
			review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "RBAC: allowed by ClusterRoleBinding"}
		} else {
			review.Status = authorizationv1.SubjectAccessReviewStatus{Reason: "no RBAC policy matched"}
		}
		return true, review, nil
	})
	return cs
}

const (
	readerToken = "reader-token"
	otherToken  = "other-token"
	series      = "scaleguard_up 1\n"
)

func newAPIServer() *apiServer {
	return &apiServer{
		users: map[string]authenticationv1.UserInfo{
			readerToken: {
				Username: "system:serviceaccount:monitoring:prometheus", UID: "uid-1",
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:monitoring"},
				Extra:  map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}},
			},
			otherToken: {Username: "system:serviceaccount:default:other", Groups: []string{"system:serviceaccounts", "system:authenticated"}},
		},
		readers: map[string][]string{"system:serviceaccount:monitoring:prometheus": {"get /metrics"}},
	}
}

// guarded is the filter in front of a handler serving series, asking api,
// with clk timing the caches and the log written to logs.
func guarded(api *apiServer, clk *clocktesting.FakeClock, logs *strings.Builder) http.Handler {
	cs := api.clientset()
	log := logr.Discard()
	if logs != nil {
		log = funcr.New(func(prefix, args string) { fmt.Fprintln(logs, prefix, args) }, funcr.Options{Verbosity: 1})
	}
	f := New(cs.AuthenticationV1().TokenReviews(), cs.AuthorizationV1().SubjectAccessReviews(), clk, log)
	return f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, series) }))
}

func scrape(t *testing.T, h http.Handler, method, authorization string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "https://scaleguard.example:8080/metrics", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFilterAnswers(t *testing.T) {
	apiDown := errors.New(`Post "https://10.96.0.1:443/apis/authentication.k8s.io/v1/tokenreviews": dial tcp 10.96.0.1:443: connect: connection refused`)
	cases := map[string]struct {
		method, authorization string
		tokenErr, accessErr   error
		code                  int
		body                  string
		// tokenReviews and accessReviews are how many reviews the
		// request costs.
		tokenReviews, accessReviews int
	}{
		"no Authorization header": {code: http.StatusUnauthorized, body: "Unauthorized\n"},
		"not a bearer token":      {authorization: "Basic cHJvbWV0aGV1czpzZWNyZXQ=", code: http.StatusUnauthorized, body: "Unauthorized\n"},
		"an empty bearer token":   {authorization: "Bearer ", code: http.StatusUnauthorized, body: "Unauthorized\n"},
		"a token the API server rejects": {
			authorization: "Bearer forged", code: http.StatusUnauthorized, body: "Unauthorized\n", tokenReviews: 1,
		},
		"the TokenReview fails": {
			authorization: "Bearer " + readerToken, tokenErr: apiDown,
			code: http.StatusInternalServerError, body: "Authentication failed\n", tokenReviews: 1,
		},
		"a user without the permission": {
			authorization: "Bearer " + otherToken,
			code:          http.StatusForbidden, body: "Authorization denied for user system:serviceaccount:default:other\n", tokenReviews: 1, accessReviews: 1,
		},
		"the SubjectAccessReview fails": {
			authorization: "Bearer " + readerToken, accessErr: apiDown,
			code: http.StatusInternalServerError, body: "Authorization for user system:serviceaccount:monitoring:prometheus failed\n", tokenReviews: 1, accessReviews: 1,
		},
		"a reader": {
			authorization: "Bearer " + readerToken, code: http.StatusOK, body: series, tokenReviews: 1, accessReviews: 1,
		},
		"the scheme in any case": {
			authorization: "bearer " + readerToken, code: http.StatusOK, body: series, tokenReviews: 1, accessReviews: 1,
		},
		// The permission is for get: a POST is reviewed as post.
		"a reader posting": {
			method: http.MethodPost, authorization: "Bearer " + readerToken,
			code: http.StatusForbidden, body: "Authorization denied for user system:serviceaccount:monitoring:prometheus\n", tokenReviews: 1, accessReviews: 1,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			api := newAPIServer()
			api.tokenErr, api.accessErr = c.tokenErr, c.accessErr
			var logs strings.Builder
			h := guarded(api, clocktesting.NewFakeClock(time.Now()), &logs)
			method := c.method
			if method == "" {
				method = http.MethodGet
			}
			rec := scrape(t, h, method, c.authorization)
			if rec.Code != c.code || rec.Body.String() != c.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, c.code, c.body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); (c.code == http.StatusUnauthorized) != strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q with %d", got, rec.Code)
			}
			if len(api.tokenReviews) != c.tokenReviews || len(api.accessReviews) != c.accessReviews {
				t.Errorf("%d TokenReviews and %d SubjectAccessReviews, want %d and %d", len(api.tokenReviews), len(api.accessReviews), c.tokenReviews, c.accessReviews)
			}
			if c.tokenErr != nil || c.accessErr != nil {
				if !strings.Contains(logs.String(), "connection refused") {
					t.Errorf("the API server's error is not logged:\n%s", logs.String())
				}
			}
			token, _ := strings.CutPrefix(strings.ToLower(c.authorization), "bearer ")
			if token != "" && strings.Contains(logs.String(), token) {
				t.Errorf("the log holds the token:\n%s", logs.String())
			}
		})
	}
}

// TestFilterReviews checks what the filter asks the API server for a
// reader's scrape: the token alone, no audiences; then the user, UID,
// groups and extra of the TokenReview's answer, for get on the path.
func TestFilterReviews(t *testing.T) {
	api := newAPIServer()
	h := guarded(api, clocktesting.NewFakeClock(time.Now()), nil)
	if rec := scrape(t, h, http.MethodGet, "Bearer "+readerToken); rec.Code != http.StatusOK {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if want := []authenticationv1.TokenReviewSpec{{Token: readerToken}}; !reflect.DeepEqual(api.tokenReviews, want) {
		t.Errorf("TokenReviews %+v, want %+v", api.tokenReviews, want)
	}
	want := []authorizationv1.SubjectAccessReviewSpec{{
		User: "system:serviceaccount:monitoring:prometheus", UID: "uid-1",
		// The API server's group of every authenticated user, added
		// when a TokenReview leaves it out.
		Groups:                []string{"system:serviceaccounts", "system:serviceaccounts:monitoring", "system:authenticated"},
		Extra:                 map[string]authorizationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"prometheus-0"}},
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}}
	if !reflect.DeepEqual(api.accessReviews, want) {
		t.Errorf("SubjectAccessReviews\n%s\nwant\n%s", spew(api.accessReviews), spew(want))
	}
	// A TokenReview that names the group already: not twice.
	if rec := scrape(t, h, http.MethodGet, "Bearer "+otherToken); rec.Code != http.StatusForbidden {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	if got := api.accessReviews[1].Groups; !slices.Equal(got, []string{"system:serviceaccounts", "system:authenticated"}) {
		t.Errorf("groups %q", got)
	}
}

// TestFilterCaches checks the lifetimes of cached answers on a fake clock:
// a token's review TokenTTL, an allowed access AllowedTTL, a denied one
// DeniedTTL; failures to ask are not cached.
func TestFilterCaches(t *testing.T) {
	// reviews makes n scrapes with token and checks that they cost the
	// given reviews and all got code.
	reviews := func(t *testing.T, api *apiServer, h http.Handler, n int, token string, code, tokenReviews, accessReviews int) {
		t.Helper()
		tr, sar := len(api.tokenReviews), len(api.accessReviews)
		for range n {
			if rec := scrape(t, h, http.MethodGet, "Bearer "+token); rec.Code != code {
				t.Fatalf("got %d %q, want %d", rec.Code, rec.Body, code)
			}
		}
		if tr, sar = len(api.tokenReviews)-tr, len(api.accessReviews)-sar; tr != tokenReviews || sar != accessReviews {
			t.Errorf("%d scrapes: %d TokenReviews and %d SubjectAccessReviews, want %d and %d", n, tr, sar, tokenReviews, accessReviews)
		}
	}
	const almost = time.Millisecond

	t.Run("an allowed reader", func(t *testing.T) {
		api, clk := newAPIServer(), clocktesting.NewFakeClock(time.Now())
		h := guarded(api, clk, nil)
		reviews(t, api, h, 20, readerToken, http.StatusOK, 1, 1)
		clk.Step(TokenTTL)
		reviews(t, api, h, 1, readerToken, http.StatusOK, 0, 0)
		clk.Step(almost)
		reviews(t, api, h, 1, readerToken, http.StatusOK, 1, 0)
		// A revoked grant applies once the allowed access expires.
		delete(api.readers, "system:serviceaccount:monitoring:prometheus")
		// At AllowedTTL the token's second review has expired too.
		clk.Step(AllowedTTL - TokenTTL - almost)
		reviews(t, api, h, 1, readerToken, http.StatusOK, 1, 0)
		clk.Step(almost)
		reviews(t, api, h, 1, readerToken, http.StatusForbidden, 0, 1)
	})
	t.Run("a denied user", func(t *testing.T) {
		api, clk := newAPIServer(), clocktesting.NewFakeClock(time.Now())
		h := guarded(api, clk, nil)
		reviews(t, api, h, 5, otherToken, http.StatusForbidden, 1, 1)
		// A new grant applies once the denial expires.
		api.readers["system:serviceaccount:default:other"] = []string{"get /metrics"}
		clk.Step(DeniedTTL)
		reviews(t, api, h, 1, otherToken, http.StatusForbidden, 0, 0)
		clk.Step(almost)
		reviews(t, api, h, 1, otherToken, http.StatusOK, 0, 1)
	})
	t.Run("a rejected token", func(t *testing.T) {
		api, clk := newAPIServer(), clocktesting.NewFakeClock(time.Now())
		h := guarded(api, clk, nil)
		reviews(t, api, h, 5, "forged", http.StatusUnauthorized, 1, 0)
		clk.Step(TokenTTL + almost)
		reviews(t, api, h, 1, "forged", http.StatusUnauthorized, 1, 0)
	})
	t.Run("failures to ask are not cached", func(t *testing.T) {
		api := newAPIServer()
		h := guarded(api, clocktesting.NewFakeClock(time.Now()), nil)
		api.tokenErr = errors.New("connection refused")
		reviews(t, api, h, 3, readerToken, http.StatusInternalServerError, 3, 0)
		api.tokenErr, api.accessErr = nil, errors.New("connection refused")
		reviews(t, api, h, 3, readerToken, http.StatusInternalServerError, 1, 3)
		api.accessErr = nil
		reviews(t, api, h, 3, readerToken, http.StatusOK, 0, 1)
	})
	t.Run("each token on its own", func(t *testing.T) {
		api := newAPIServer()
		api.users["second-token"] = api.users[readerToken]
		h := guarded(api, clocktesting.NewFakeClock(time.Now()), nil)
		reviews(t, api, h, 2, readerToken, http.StatusOK, 1, 1)
		reviews(t, api, h, 2, "second-token", http.StatusOK, 1, 1)
	})
	t.Run("bounded", func(t *testing.T) {
		api := newAPIServer()
		h := guarded(api, clocktesting.NewFakeClock(time.Now()), nil)
		reviews(t, api, h, 1, readerToken, http.StatusOK, 1, 1)
		// CacheSize made-up tokens push the reader's review out.
		for i := range CacheSize {
			scrape(t, h, http.MethodGet, fmt.Sprintf("Bearer forged-%d", i))
		}
		reviews(t, api, h, 1, readerToken, http.StatusOK, 1, 0)
	})
}

// TestFilterKeepsNoToken: the caches are keyed by the tokens' SHA-256.
func TestFilterKeepsNoToken(t *testing.T) {
	api := newAPIServer()
	cs := api.clientset()
	f := New(cs.AuthenticationV1().TokenReviews(), cs.AuthorizationV1().SubjectAccessReviews(), clocktesting.NewFakeClock(time.Now()), logr.Discard())
	h := f.Wrap(http.NotFoundHandler())
	scrape(t, h, http.MethodGet, "Bearer "+readerToken)
	scrape(t, h, http.MethodGet, "Bearer forged")
	for _, c := range []*cacheView{{"reviews", f.reviews.Keys()}, {"access", f.access.Keys()}} {
		if len(c.keys) == 0 {
			t.Errorf("the %s cache is empty", c.name)
		}
		for _, k := range c.keys {
			if s := fmt.Sprintf("%v %s", k, k); strings.Contains(s, readerToken) || strings.Contains(s, "forged") {
				t.Errorf("the %s cache holds a token: %s", c.name, s)
			}
		}
	}
}

// spew prints SubjectAccessReview specs with their attributes.
func spew(specs []authorizationv1.SubjectAccessReviewSpec) string {
	var b strings.Builder
	for _, s := range specs {
		fmt.Fprintf(&b, "%+v %+v\n", s, s.NonResourceAttributes)
	}
	return b.String()
}

type cacheView struct {
	name string
	keys []any
}
