package apiserver_test

import (
	"sync"
	"testing"
	"time"
)

// TestRevocationReachesOtherReplicasWithinASecond: two servers on one database; a deactivation made through
// one stops the user's token on the other within the session cache's one-second lifetime.
func TestRevocationReachesOtherReplicasWithinASecond(t *testing.T) {
	a := newEnv(t, envOptions{})
	b := newEnv(t, envOptions{dbURL: a.dbURL})
	lee := a.register("lee")
	b.expect(b.do("GET", "/api/v1/auth/me", lee.access, nil), 200) // cached on b now
	a.expect(a.do("POST", "/api/v1/admin/users/"+lee.userID+"/deactivate", a.admin().access, nil), 200)
	start := time.Now()
	for b.do("GET", "/api/v1/auth/me", lee.access, nil).status == 200 {
		if time.Since(start) > 3*time.Second {
			t.Fatal("the other replica still accepts a deactivated user's token after 3s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation reached the other replica after %s", time.Since(start).Round(time.Millisecond))
}

// TestTwoAdminsCannotDemoteEachOtherToNone: concurrent demotions of the only two admins leave one admin.
func TestTwoAdminsCannotDemoteEachOtherToNone(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.admin()
	mia := e.register("mia")
	e.expect(e.do("PUT", "/api/v1/admin/users/"+mia.userID+"/role", root.access, map[string]string{"role": "admin"}), 200)
	for range 5 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, pair := range [][2]session{{root, mia}, {mia, root}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = e.do("PUT", "/api/v1/admin/users/"+pair[1].userID+"/role", pair[0].access, map[string]string{"role": "user"}).status
			}()
		}
		wg.Wait()
		var admins struct {
			Items []userBody `json:"items"`
		}
		// Whoever is still admin lists the admins and restores the other for the next round.
		for _, s := range []session{root, mia} {
			if r := e.do("GET", "/api/v1/admin/users?role=admin&active=true", s.access, nil); r.status == 200 {
				r.json(t, &admins)
				break
			}
		}
		if len(admins.Items) != 1 {
			t.Fatalf("after concurrent demotions (%v): %d active admins, want exactly 1", codes, len(admins.Items))
		}
		if codes[0] == codes[1] {
			t.Errorf("statuses %v: want one 200 and one refusal", codes)
		}
		survivor := root
		other := mia
		if admins.Items[0].ID == mia.userID {
			survivor, other = mia, root
		}
		e.expect(e.do("PUT", "/api/v1/admin/users/"+other.userID+"/role", survivor.access, map[string]string{"role": "admin"}), 200)
	}
}
