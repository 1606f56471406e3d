package apiserver_test

import (
	"net/http"
	"testing"
)

type userBody struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	IsActive bool   `json:"is_active"`
}

func TestAdminManagesUsers(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.admin()
	ann := e.register("ann")
	e.register("ben")
	for _, p := range []string{"/api/v1/admin/users", "/api/v1/admin/audit", "/api/v1/admin/users/" + ann.userID} {
		if c := e.expect(e.do("GET", p, ann.access, nil), 403).errCode(t); c != "admin_only" {
			t.Errorf("GET %s as user: %s", p, c)
		}
	}

	// Listing with search, filters and pagination.
	var page struct {
		Items      []userBody `json:"items"`
		NextCursor string     `json:"next_cursor"`
	}
	e.expect(e.do("GET", "/api/v1/admin/users?limit=2", root.access, nil), 200).json(t, &page)
	if len(page.Items) != 2 || page.NextCursor == "" || page.Items[0].Username != adminUser || page.Items[0].Role != "admin" {
		t.Fatalf("first page = %+v", page)
	}
	cursor := page.NextCursor
	page.NextCursor = ""
	e.expect(e.do("GET", "/api/v1/admin/users?limit=2&cursor="+cursor, root.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Username != "ben" || page.NextCursor != "" {
		t.Errorf("second page = %+v", page)
	}
	e.expect(e.do("GET", "/api/v1/admin/users?q=AN", root.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Username != "ann" {
		t.Errorf("q=AN = %+v", page.Items)
	}
	e.expect(e.do("GET", "/api/v1/admin/users?role=admin", root.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("role=admin = %+v", page.Items)
	}
	e.expect(e.do("GET", "/api/v1/admin/users?limit=0", root.access, nil), 400)
	e.expect(e.do("GET", "/api/v1/admin/users?cursor=zzz", root.access, nil), 400)
	e.expect(e.do("GET", "/api/v1/admin/users?active=maybe", root.access, nil), 400)
	e.expect(e.do("GET", "/api/v1/admin/users/00000000-0000-0000-0000-000000000000", root.access, nil), 404)
	e.expect(e.do("GET", "/api/v1/admin/users/not-a-uuid", root.access, nil), 404)

	// Deactivation ends the user's sessions at once and stops logins; activation lets them in again.
	var u userBody
	e.expect(e.do("POST", "/api/v1/admin/users/"+ann.userID+"/deactivate", root.access, nil), 200).json(t, &u)
	if u.IsActive {
		t.Error("deactivate returned an active user")
	}
	if c := e.expect(e.do("GET", "/api/v1/auth/me", ann.access, nil), 401).errCode(t); c != "account_disabled" {
		t.Errorf("deactivated user's token: %s", c)
	}
	e.expect(e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": ann.refresh}), 401)
	e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "ann", "password": "password-of-ann"}), 403)
	e.expect(e.do("POST", "/api/v1/admin/users/"+ann.userID+"/activate", root.access, nil), 200)
	ann = e.login("ann", "password-of-ann")

	// Roles: promotion takes effect on the next request, without a new token.
	e.expect(e.do("PUT", "/api/v1/admin/users/"+ann.userID+"/role", root.access, map[string]string{"role": "emperor"}), 422)
	e.expect(e.do("PUT", "/api/v1/admin/users/"+ann.userID+"/role", root.access, map[string]string{"role": "admin"}), 200)
	e.expect(e.do("GET", "/api/v1/admin/users", ann.access, nil), 200)
	e.expect(e.do("PUT", "/api/v1/admin/users/"+ann.userID+"/role", root.access, map[string]string{"role": "user"}), 200)
	e.expect(e.do("GET", "/api/v1/admin/users", ann.access, nil), 403)

	// The last active admin can be neither demoted, deactivated nor deleted, by anyone.
	for _, r := range []resp{
		e.do("PUT", "/api/v1/admin/users/"+root.userID+"/role", root.access, map[string]string{"role": "user"}),
		e.do("POST", "/api/v1/admin/users/"+root.userID+"/deactivate", root.access, nil),
		e.do("DELETE", "/api/v1/admin/users/"+root.userID, root.access, nil),
		e.do("DELETE", "/api/v1/users/me", root.access, map[string]string{"password": adminPass}),
	} {
		if r.status != 409 || r.errCode(t) != "last_admin" {
			t.Errorf("removing the last admin: %d %s", r.status, r.body)
		}
	}

	// Deleting a user removes the account; its tokens stop working.
	e.expect(e.do("DELETE", "/api/v1/admin/users/"+ann.userID, root.access, nil), 204)
	e.expect(e.do("GET", "/api/v1/auth/me", ann.access, nil), 401)
	e.expect(e.do("DELETE", "/api/v1/admin/users/"+ann.userID, root.access, nil), 404)

	var audit struct {
		Items []struct {
			Action   string  `json:"action"`
			ActorID  *string `json:"actor_id"`
			TargetID string  `json:"target_id"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/admin/audit?actor_id="+root.userID, root.access, nil), 200).json(t, &audit)
	want := []string{"admin.user_deleted", "admin.user_role_changed", "admin.user_role_changed", "admin.user_activated", "admin.user_deactivated"}
	if len(audit.Items) != len(want) {
		t.Fatalf("audit = %+v, want %v", audit.Items, want)
	}
	for i, a := range audit.Items {
		if a.Action != want[i] || a.TargetID != ann.userID {
			t.Errorf("audit[%d] = %+v, want %s on %s", i, a, want[i], ann.userID)
		}
	}
	e.expect(e.do("GET", "/api/v1/admin/audit?action=bogus", root.access, nil), 422)
	e.expect(e.do("GET", "/api/v1/admin/audit?actor_id=nope", root.access, nil), 400)
	e.expect(e.do("GET", "/api/v1/admin/audit?action=admin.bootstrap", root.access, nil), 200).json(t, &audit)
	if len(audit.Items) != 1 {
		t.Errorf("bootstrap audit entries = %d, want 1", len(audit.Items))
	}
}

func TestProfile(t *testing.T) {
	e := newEnv(t, envOptions{})
	cy := e.register("cyrus")
	e.register("diana")
	var u struct {
		Email       string `json:"email"`
		DisplayName string `json:"display_name"`
	}
	e.expect(e.do("PATCH", "/api/v1/users/me", cy.access, map[string]string{"display_name": " Cy Young ", "email": "CY@new.example"}), 200).json(t, &u)
	if u.Email != "cy@new.example" || u.DisplayName != "Cy Young" {
		t.Errorf("profile = %+v", u)
	}
	e.expect(e.do("PATCH", "/api/v1/users/me", cy.access, map[string]string{"email": "diana@example.com"}), 409)
	e.expect(e.do("PATCH", "/api/v1/users/me", cy.access, map[string]string{"email": "nope"}), 422)
	e.expect(e.do("GET", "/api/v1/users/me", cy.access, nil), 200).json(t, &u)
	if u.DisplayName != "Cy Young" {
		t.Errorf("after refused update, display name = %q", u.DisplayName)
	}
	e.expect(e.do("DELETE", "/api/v1/users/me", cy.access, map[string]string{"password": "wrong-one"}), 403)
	e.expect(e.do("DELETE", "/api/v1/users/me", cy.access, map[string]string{"password": "password-of-cyrus"}), 204)
	e.expect(e.do("GET", "/api/v1/users/me", cy.access, nil), 401)
	e.expect(e.do("POST", "/api/v1/auth/login", "", map[string]string{"login": "cyrus", "password": "password-of-cyrus"}), 401)
}

func TestAdminCreatesUsersWhenRegistrationIsClosed(t *testing.T) {
	e := newEnv(t, envOptions{registration: "Closed"})
	if c := e.expect(e.do("POST", "/api/v1/auth/register", "", map[string]string{"username": "nora", "email": "nora@example.com", "password": "password-nora"}), 403).errCode(t); c != "registration_closed" {
		t.Errorf("register while closed: %s", c)
	}
	root := e.admin()
	var u userBody
	e.expect(e.do("POST", "/api/v1/admin/users", root.access, map[string]string{"username": "nora", "email": "nora@example.com", "password": "password-nora"}), 201).json(t, &u)
	if u.Username != "nora" || u.Role != "user" || !u.IsActive {
		t.Errorf("created = %+v", u)
	}
	nora := e.login("nora", "password-nora")
	e.expect(e.do("POST", "/api/v1/admin/users", nora.access, map[string]string{"username": "otto", "email": "otto@example.com", "password": "password-otto"}), 403)
	e.expect(e.do("POST", "/api/v1/admin/users", root.access, map[string]string{"username": "NORA", "email": "n2@example.com", "password": "password-nora"}), 409)
	e.expect(e.do("POST", "/api/v1/admin/users", root.access, map[string]string{"username": "otto", "email": "otto@example.com", "password": "password-otto", "role": "owner"}), 422)
	e.expect(e.do("POST", "/api/v1/admin/users", root.access, map[string]string{"username": "otto", "email": "otto@example.com", "password": "password-otto", "role": "admin"}), 201).json(t, &u)
	if u.Role != "admin" {
		t.Errorf("role = %s, want admin", u.Role)
	}
	var audit struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	e.expect(e.do("GET", "/api/v1/admin/audit?action=admin.user_created", root.access, nil), 200).json(t, &audit)
	if len(audit.Items) != 2 {
		t.Errorf("user_created audit entries = %d, want 2", len(audit.Items))
	}
	var tagPage struct {
		Items      []struct{ Name string } `json:"items"`
		NextCursor string                  `json:"next_cursor"`
	}
	// Tag pagination follows the database's case folding.
	for _, n := range []string{"b", "A", "c", "Ä"} {
		e.expect(e.do("POST", "/api/v1/tags", nora.access, map[string]string{"name": n}), 201)
	}
	var names []string
	cursor := ""
	for range 5 {
		e.expect(e.do("GET", "/api/v1/tags?limit=1&cursor="+cursor, nora.access, nil), 200).json(t, &tagPage)
		for _, it := range tagPage.Items {
			names = append(names, it.Name)
		}
		if cursor = tagPage.NextCursor; cursor == "" {
			break
		}
		tagPage.NextCursor = ""
	}
	if len(names) != 4 {
		t.Errorf("paged tags = %v, want all 4 once", names)
	}
	// A lowercase "bearer" scheme is accepted too.
	req, _ := http.NewRequest("GET", e.base+"/api/v1/auth/me", nil)
	req.Header.Set("Authorization", "bearer "+nora.access)
	if r := e.send(req, nil); r.status != 200 {
		t.Errorf("lowercase bearer = %d", r.status)
	}
}
