package apiserver_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/llmplatform/llmplatform/apiserver/security"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

func TestAuthSessionLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	ada := e.register("ada")
	var me struct {
		ID, Username, Role string
		Email              *string
	}
	e.expect(e.do("GET", "/api/v1/auth/me", ada.access, nil), 200).json(t, &me)
	if me.Username != "ada" || me.Role != "user" || me.Email == nil || *me.Email != "ada@example.com" {
		t.Errorf("me = %+v", me)
	}
	// Login by username (any case) and by email.
	byName := e.login("ADA", "password-of-ada")
	byEmail := e.login("ada@example.com", "password-of-ada")
	if e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "wrong-password"}).errCode(t) != "invalid_credentials" {
		t.Error("wrong password not refused as invalid_credentials")
	}
	if r := e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "nobody", "password": "whatever-1"}); r.status != 401 {
		t.Errorf("unknown user login = %d, want 401", r.status)
	}

	// Refresh rotates: the new pair works, the old refresh token is single use and its reuse ends the session.
	r := e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": byName.refresh}), 200)
	rotated := e.sessionFrom(r)
	if rotated.refresh == byName.refresh {
		t.Fatal("refresh returned the same refresh token")
	}
	e.expect(e.do("GET", "/api/v1/auth/me", rotated.access, nil), 200)
	reuse := e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": byName.refresh}), 401)
	if reuse.errCode(t) != "refresh_token_reused" {
		t.Errorf("reuse code = %s", reuse.errCode(t))
	}
	e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rotated.refresh}), 401)
	if c := e.expect(e.do("GET", "/api/v1/auth/me", rotated.access, nil), 401).errCode(t); c != "session_ended" {
		t.Errorf("access token of a reused family: code %s, want session_ended", c)
	}
	e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "rt_unknown"}), 401)
	e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{}), 422)

	// Logout ends the session and its access tokens at once; a second logout is harmless.
	e.expect(e.do("POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": byEmail.refresh}), 204)
	e.expect(e.do("GET", "/api/v1/users/me", byEmail.access, nil), 401)
	e.expect(e.do("POST", "/api/v1/auth/logout", "", map[string]string{"refresh_token": byEmail.refresh}), 204)

	// Changing the password ends every other session, keeps this one, and the old password stops working.
	other := e.login("ada", "password-of-ada")
	e.expect(e.do("POST", "/api/v1/auth/change-password", ada.access, map[string]string{
		"current_password": "wrong-password", "new_password": "a-new-password"}), 403)
	e.expect(e.do("POST", "/api/v1/auth/change-password", ada.access, map[string]string{
		"current_password": "password-of-ada", "new_password": "short"}), 422)
	e.expect(e.do("POST", "/api/v1/auth/change-password", ada.access, map[string]string{
		"current_password": "password-of-ada", "new_password": "a-new-password"}), 204)
	e.expect(e.do("GET", "/api/v1/auth/me", ada.access, nil), 200)
	e.expect(e.do("GET", "/api/v1/auth/me", other.access, nil), 401)
	e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": other.refresh}), 401)
	e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "password-of-ada"}), 401)
	e.login("ada", "a-new-password")

	// The reuse was audited.
	var audit struct {
		Items []struct {
			Action     string `json:"action"`
			TargetType string `json:"target_type"`
			TargetID   string `json:"target_id"`
			ClientIP   string `json:"client_ip"`
		} `json:"items"`
	}
	root := e.admin()
	e.expect(e.do("GET", "/api/v1/admin/audit?action=session.refresh_reuse", root.access, nil), 200).json(t, &audit)
	if len(audit.Items) != 1 || audit.Items[0].TargetType != "session" {
		t.Errorf("refresh reuse audit = %+v", audit.Items)
	}
	// So were the three failed logins: two on ada's account (a wrong password, then the old one), one on
	// none; with the client's address and without the password tried.
	r = e.expect(e.do("GET", "/api/v1/admin/audit?action=user.login_failed", root.access, nil), 200)
	r.json(t, &audit)
	targets := map[string]int{}
	for _, a := range audit.Items {
		if a.Action != "user.login_failed" || a.TargetType != "user" || a.ClientIP != "127.0.0.1" {
			t.Errorf("failed login audit entry %+v", a)
		}
		targets[a.TargetID]++
	}
	if len(audit.Items) != 3 || targets[ada.userID] != 2 || targets[""] != 1 {
		t.Errorf("failed login audit = %+v, want 2 on %s and 1 on no account", audit.Items, ada.userID)
	}
	if strings.Contains(string(r.body), "wrong-password") || strings.Contains(string(r.body), "whatever-1") {
		t.Errorf("the audit log shows a password tried: %s", r.body)
	}
}

func TestRegistrationRules(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.register("grace")
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"duplicate username, other case", map[string]string{"username": "GRACE", "email": "g2@example.com", "password": "long-enough-1"}, 409, "username_taken"},
		{"duplicate email", map[string]string{"username": "grace2", "email": "Grace@Example.com", "password": "long-enough-1"}, 409, "email_taken"},
		{"short password", map[string]string{"username": "linus", "email": "l@example.com", "password": "short"}, 422, "validation_failed"},
		{"password is username", map[string]string{"username": "linusxyz", "email": "l@example.com", "password": "LINUSXYZ"}, 422, "validation_failed"},
		{"bad username", map[string]string{"username": "a b", "email": "l@example.com", "password": "long-enough-1"}, 422, "validation_failed"},
		{"bad email", map[string]string{"username": "linus", "email": "not-an-email", "password": "long-enough-1"}, 422, "validation_failed"},
		{"wrong type", `{"username": 5}`, 400, "invalid_request"},
		{"not JSON", `{"username":`, 400, "invalid_request"},
		{"empty body", ``, 400, "invalid_request"},
	}
	for _, c := range cases {
		r := e.do("POST", "/api/v1/auth/register", "", c.body)
		if r.status != c.status || r.errCode(t) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	var v struct {
		Error struct {
			Fields []struct{ Field string } `json:"fields"`
		} `json:"error"`
	}
	e.do("POST", "/api/v1/auth/register", "", map[string]string{"username": "x", "email": "y", "password": "z"}).json(t, &v)
	if len(v.Error.Fields) != 3 {
		t.Errorf("fields = %+v, want username, email and password named", v.Error.Fields)
	}
	// A body over the limit is refused before it is read.
	big := `{"username":"` + strings.Repeat("a", 5<<20) + `"}`
	if r := e.do("POST", "/api/v1/auth/register", "", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB body = %d, want 413", r.status)
	}
	// A body without a JSON content type is refused.
	req, _ := http.NewRequest("POST", e.base+"/api/v1/auth/login", strings.NewReader(`login=a&password=b`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.send(req, nil); r.status != 400 {
		t.Errorf("form body = %d, want 400", r.status)
	}
}

func TestConcurrentRegistrationsCreateOneAccount(t *testing.T) {
	e := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/v1/auth/register", "", map[string]string{"username": "twin",
				"email": strings.Repeat("x", i+1) + "@example.com", "password": "password-twin"})
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[409] != 19 {
		t.Errorf("statuses = %v, want one 201 and nineteen 409", count)
	}
	var users struct{ Items []struct{ Username string } }
	e.expect(e.do("GET", "/api/v1/admin/users?q=twin", e.admin().access, nil), 200).json(t, &users)
	if len(users.Items) != 1 {
		t.Errorf("users named twin: %d, want 1", len(users.Items))
	}
}

func TestAccessTokensThatMustBeRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.register("mallory")
	valid, _, err := jwt.NewParser().ParseUnverified(s.access, &security.AccessClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := *valid.Claims.(*security.AccessClaims)
	sign := func(method jwt.SigningMethod, key any, kid string, c security.AccessClaims) string {
		tok := jwt.NewWithClaims(method, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	expired := claims
	expired.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	noExp := claims
	noExp.ExpiresAt = nil
	foreignKey := []byte("another-key-another-key-another-key!!")
	tokens := map[string]string{
		"alg none":       sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, security.KeyID([]byte(testKey)), claims),
		"foreign key":    sign(jwt.SigningMethodHS256, foreignKey, security.KeyID([]byte(testKey)), claims),
		"foreign kid":    sign(jwt.SigningMethodHS256, foreignKey, security.KeyID(foreignKey), claims),
		"wrong kid":      sign(jwt.SigningMethodHS256, []byte(testKey), "0000000000000000", claims),
		"no kid":         sign(jwt.SigningMethodHS256, []byte(testKey), "", claims),
		"expired":        sign(jwt.SigningMethodHS256, []byte(testKey), security.KeyID([]byte(testKey)), expired),
		"no expiry":      sign(jwt.SigningMethodHS384, []byte(testKey), security.KeyID([]byte(testKey)), noExp),
		"HS384":          sign(jwt.SigningMethodHS384, []byte(testKey), security.KeyID([]byte(testKey)), claims),
		"garbage":        "not.a.jwt",
		"tampered":       s.access[:len(s.access)-3] + "AAA",
		"empty":          " ",
		"refresh as JWT": s.refresh,
	}
	for name, tok := range tokens {
		if r := e.do("GET", "/api/v1/auth/me", tok, nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d, want 401 with WWW-Authenticate", name, r.status)
		}
	}
	// The same claims signed properly are accepted, so the refusals above are about what was changed.
	good := sign(jwt.SigningMethodHS256, []byte(testKey), security.KeyID([]byte(testKey)), claims)
	e.expect(e.do("GET", "/api/v1/auth/me", good, nil), 200)
	e.expect(e.do("GET", "/api/v1/auth/me", "", nil), 401)
}

func TestLoginThrottling(t *testing.T) {
	e := newEnv(t, envOptions{throttle: service.Throttle{AccountFailures: 3, AddressFailures: 1000, Window: time.Minute, Lock: time.Minute}})
	e.register("bob")
	for range 3 {
		e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "bob", "password": "guess-guess"}), 401)
	}
	r := e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "bob", "password": "password-of-bob"}), 429)
	if r.errCode(t) != "too_many_attempts" || r.header.Get("Retry-After") == "" {
		t.Errorf("locked login: %s, Retry-After %q", r.body, r.header.Get("Retry-After"))
	}
	// Another account from the same address is not locked.
	e.register("carol")
	e.login("carol", "password-of-carol")
	var audit struct{ Items []struct{ Action string } }
	e.expect(e.do("GET", "/api/v1/admin/audit?action=user.login_throttled", e.admin().access, nil), 200).json(t, &audit)
	if len(audit.Items) != 1 {
		t.Errorf("throttle audit entries = %d, want 1", len(audit.Items))
	}
}

func TestLoginThrottlingPerAddress(t *testing.T) {
	e := newEnv(t, envOptions{throttle: service.Throttle{AccountFailures: 100, AddressFailures: 4, Window: time.Minute, Lock: time.Minute}})
	e.register("dave")
	for i := range 4 {
		e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "nobody" + string(rune('a'+i)), "password": "guess-guess"}), 401)
	}
	e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "dave", "password": "password-of-dave"}), 429)
}
