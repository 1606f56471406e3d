package service

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/llmplatform/llmplatform/apiserver/apperr"
)

// Field limits.
const (
	MinPasswordLen    = 8
	MaxPasswordLen    = 128
	MaxEmailLen       = 254
	MaxDisplayNameLen = 100
	MaxTitleLen       = 200
	MaxModelLen       = 200
	MaxSystemPrompt   = 100000
	MaxTagNameLen     = 50
	MaxTagsPerCreate  = 50
	MaxSearchLen      = 200
)

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{2,49}$`)
	colorRE    = regexp.MustCompile(`^(#[0-9A-Fa-f]{6})?$`)
)

func runes(s string) int { return utf8.RuneCountInString(s) }

func checkUsername(v *apperr.Validation, username string) {
	v.Check(usernameRE.MatchString(username), "username",
		"must be 3 to 50 letters, digits, '.', '_' or '-', starting with a letter or digit")
}

// normalizeEmail lowercases and checks an address; ok is false when it is not a plain address.
func normalizeEmail(email string) (string, bool) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	return email, err == nil && a.Address == email && len(email) <= MaxEmailLen && a.Name == ""
}

func checkPassword(v *apperr.Validation, field, password string, others ...string) {
	n := runes(password)
	v.Check(n >= MinPasswordLen && n <= MaxPasswordLen, field, "must be 8 to 128 characters")
	for _, o := range others {
		if o != "" && strings.EqualFold(password, o) {
			v.Check(false, field, "must not be your username or email address")
			return
		}
	}
}

// checkAccount checks a new account's fields and returns the normalised email.
func checkAccount(v *apperr.Validation, in RegisterInput) string {
	checkUsername(v, in.Username)
	email, ok := normalizeEmail(in.Email)
	v.Check(ok, "email", "must be an email address such as ada@example.com")
	checkPassword(v, "password", in.Password, in.Username, email)
	checkDisplayName(v, in.DisplayName)
	return email
}

func checkDisplayName(v *apperr.Validation, name string) {
	v.Check(runes(name) <= MaxDisplayNameLen && !hasControl(name), "display_name", "must be at most 100 characters, without control characters")
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
