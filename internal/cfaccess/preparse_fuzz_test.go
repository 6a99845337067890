package cfaccess

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzTokenPreParse: what runs on a token before any key is looked up or
// any signature checked (the shape, the header, the algorithm) never
// panics, refuses with a rejection that has a reason, and accepts only a
// three-segment base64url token whose header is one JSON object with alg
// exactly RS256, a non-empty string kid and no crit or b64.
func FuzzTokenPreParse(f *testing.F) {
	hdr := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, h := range []string{
		`{"alg":"RS256","kid":"k1","typ":"JWT"}`, `{"alg":"none","kid":"k1"}`, `{"alg":"HS256","kid":"k1"}`,
		`{"alg":"RS256"}`, `{"alg":"RS256","kid":""}`, `{"alg":"RS256","kid":7}`, `{"alg":"RS256","kid":"k","crit":["b64"]}`,
		`{"alg":"RS256","kid":"k"}{}`, `[]`, `null`, `{"alg":"rs256","kid":"k"}`, `{"alg":"RS256","alg":"none","kid":"k"}`,
	} {
		f.Add(hdr(h) + ".eyJzdWIiOiJ4In0.c2ln")
	}
	for _, s := range []string{"", "a.b", "a.b.c.d.e", "..", "a..c", "e30.e30.", "a b.c.d", strings.Repeat("A", 300) + ".b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		h, err := splitCompact(token)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) || Reason(err) == "" {
				t.Fatalf("splitCompact(%q): %v is not a rejection with a reason", token, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 || parts[0] != h || parts[1] == "" || parts[2] == "" {
			t.Fatalf("splitCompact accepted %q", token)
		}
		kid, err := checkHeader(h)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) || Reason(err) == "" {
				t.Fatalf("checkHeader(%q): %v is not a rejection with a reason", h, err)
			}
			return
		}
		raw, _ := base64.RawURLEncoding.DecodeString(h)
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			t.Fatalf("checkHeader accepted a header that is not one JSON object: %q", raw)
		}
		var alg string
		_ = json.Unmarshal(m["alg"], &alg)
		_, crit := m["crit"]
		_, b64 := m["b64"]
		if alg != "RS256" || kid == "" || crit || b64 {
			t.Fatalf("checkHeader accepted %q (kid %q)", raw, kid)
		}
	})
}

// TestHeaderWithTrailingData: a header that is a JSON object followed by
// anything, a stray "}" or "]" included, is malformed. The "}" and "]"
// cases passed before (Decoder.More reads them as the end of input);
// FuzzTokenPreParse found it and keeps the input in its corpus.
func TestHeaderWithTrailingData(t *testing.T) {
	t.Parallel()
	for _, h := range []string{`{"alg":"RS256","kid":"k"}}`, `{"alg":"RS256","kid":"k"}]`, `{"alg":"RS256","kid":"k"}{}`, `{"alg":"RS256","kid":"k"} x`} {
		_, err := checkHeader(base64.RawURLEncoding.EncodeToString([]byte(h)))
		if !errors.Is(err, errMalformed) {
			t.Errorf("%s: %v, want malformed", h, err)
		}
	}
	kid, err := checkHeader(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"k"} `)))
	if err != nil || kid != "k" {
		t.Fatalf("positive control: %q, %v", kid, err)
	}
}
