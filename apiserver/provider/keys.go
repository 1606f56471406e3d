package provider

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/llmplatform/llmplatform/apiserver/config"
)

// LoadKeys reads the secrets of a provider's configured keys from their files (mounted Secrets), trimming
// surrounding white space, for NewPool and Pool.SetKeys. Call it again when the files change: a rotated key
// keeps its ID and starts healthy. Errors name the key's ID and file, never the content.
func LoadKeys(keys []config.Key) ([]Key, error) {
	out := make([]Key, 0, len(keys))
	var errs []error
	for _, k := range keys {
		data, err := os.ReadFile(k.File)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s: reading %s: %w", k.ID, k.File, errors.Unwrap(err)))
			continue
		}
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			errs = append(errs, fmt.Errorf("key %s: %s is empty", k.ID, k.File))
			continue
		}
		out = append(out, Key{ID: k.ID, Secret: secret, Weight: int(k.Weight), RequestsPerMinute: int(k.RequestsPerMinute)})
	}
	return out, errors.Join(errs...)
}
