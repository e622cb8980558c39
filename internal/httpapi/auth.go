package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/fulfill-dev/fulfill"
)

// Role sets of the routes.
var (
	adminOnly = []fulfill.Role{fulfill.RoleAdmin}
	readers   = []fulfill.Role{fulfill.RoleAdmin, fulfill.RoleMerchant, fulfill.RoleDevice}
	merchants = []fulfill.Role{fulfill.RoleAdmin, fulfill.RoleMerchant}
)

// authenticate requires "Authorization: Bearer <key>" with a live key.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			s.fail(w, r, fulfill.Errorf(fulfill.EUnauthenticated, "an API key is required: send Authorization: Bearer <key>"))
			return
		}
		k, err := s.app.Authenticate(r.Context(), secret)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		info(r.Context()).key = k
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the token of a Bearer authorization header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// allow lets only keys of the given roles through.
func (s *server) allow(roles []fulfill.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := apiKey(r.Context())
			if k == nil || !slices.Contains(roles, k.Role) {
				s.fail(w, r, fulfill.Errorf(fulfill.EForbidden, "this API key's role may not do this"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
