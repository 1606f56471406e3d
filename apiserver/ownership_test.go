package apiserver_test

import "testing"

// TestOwnershipSweep: user B gets 404 for every id-bearing endpoint on user A's resources, and A's
// resources are unchanged afterwards.
func TestOwnershipSweep(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.register("alice")
	b := e.register("bobby")
	var tag struct {
		ID string `json:"id"`
	}
	e.expect(e.do("POST", "/api/v1/tags", a.access, map[string]string{"name": "private"}), 201).json(t, &tag)
	conv := e.createConversation(a.access, map[string]any{"title": "Secret", "model": "m", "tag_ids": []string{tag.ID}})
	e.addMessage(a.userID, conv.ID, "user", "my secret plan")
	var bTag struct {
		ID string `json:"id"`
	}
	e.expect(e.do("POST", "/api/v1/tags", b.access, map[string]string{"name": "mine"}), 201).json(t, &bTag)
	bConv := e.createConversation(b.access, map[string]any{"model": "m"})

	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/conversations/" + conv.ID, nil},
		{"PATCH", "/api/v1/conversations/" + conv.ID, map[string]string{"title": "pwned"}},
		{"DELETE", "/api/v1/conversations/" + conv.ID, nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/messages", nil},
		{"POST", "/api/v1/conversations/" + conv.ID + "/messages", map[string]string{"content": "hi"}},
		{"GET", "/api/v1/conversations/" + conv.ID + "/export", nil},
		{"GET", "/api/v1/conversations/" + conv.ID + "/export?format=json", nil},
		{"PUT", "/api/v1/conversations/" + conv.ID + "/tags/" + bTag.ID, nil},
		{"DELETE", "/api/v1/conversations/" + conv.ID + "/tags/" + tag.ID, nil},
		{"PUT", "/api/v1/conversations/" + bConv.ID + "/tags/" + tag.ID, nil},
		{"GET", "/api/v1/conversations?tag_id=" + tag.ID, nil},
		{"GET", "/api/v1/tags/" + tag.ID, nil},
		{"PATCH", "/api/v1/tags/" + tag.ID, map[string]string{"name": "pwned"}},
		{"DELETE", "/api/v1/tags/" + tag.ID, nil},
		{"POST", "/api/v1/conversations", map[string]any{"model": "m", "tag_ids": []string{tag.ID}}},
	}
	for _, c := range calls {
		r := e.do(c.method, c.path, b.access, c.body)
		// Sending is not installed yet (501); once it is, it must check ownership first like the rest.
		sendNotInstalled := r.status == 501 && c.method == "POST" && c.path == "/api/v1/conversations/"+conv.ID+"/messages"
		if r.status != 404 && !sendNotInstalled {
			t.Errorf("%s %s as another user = %d %s, want 404", c.method, c.path, r.status, r.body)
		}
	}
	var got convBody
	e.expect(e.do("GET", "/api/v1/conversations/"+conv.ID, a.access, nil), 200).json(t, &got)
	if got.Title != "Secret" || len(got.Tags) != 1 || got.MessageCount != 1 {
		t.Errorf("A's conversation changed: %+v", got)
	}
	var page convPage
	e.expect(e.do("GET", "/api/v1/conversations", b.access, nil), 200).json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != bConv.ID {
		t.Errorf("B's list = %+v", page.Items)
	}
}
