package hpu

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestCheckText(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"", ""},
		{"01P4-HL3090A0-18-U4V193-22-07-00", ""},
		{"Linux gaudi2 5.10.18-hl-gaudi2-1.12.1-fw-46.0.5-sec-6 #1 SMP PREEMPT Thu Oct 12 22:23:07 IDT 2023 aarch64 GNU/Linux", ""},
		{"Gaudi 3 – HL-325L ✓ 日本", ""},
		{"\ufffd", ""}, // the replacement character itself is valid, printable UTF-8
		{strings.Repeat("x", MaxTextLen), ""},
		{strings.Repeat("x", MaxTextLen+1), "longer than 256 bytes (257)"},
		{"01P0-HL2\x00\x7fA81", "unprintable character U+0000 (byte 8)"},
		{"AB\x7f", "unprintable character U+007F (byte 2)"},
		{"AM\x1b[2J", "unprintable character U+001B (byte 2)"},
		{"1.12\n", "unprintable character U+000A (byte 4)"},
		{"a\tb", "unprintable character U+0009 (byte 1)"},
		{"\u0085", "unprintable character U+0085 (byte 0)"}, // C1 control
		{"HL-\u202e522", "unprintable character U+202E (byte 3)"},
		{"zero\u200bwidth", "unprintable character U+200B (byte 4)"},
		{"nb\u00a0sp", "unprintable character U+00A0 (byte 2)"},
		{"01P0-\xff\xfe", "not valid UTF-8 (byte 5)"},
		{"\xed\xa0\x80", "not valid UTF-8 (byte 0)"}, // an encoded surrogate
	} {
		if got := CheckText(tt.in); got != tt.want {
			t.Errorf("CheckText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuoteText(t *testing.T) {
	for in, want := range map[string]string{
		"01P0-HL2\x00\x7f":      `"01P0-HL2\x00\x7f"`,
		"01P0-\xff":             `"01P0-\xff"`,
		strings.Repeat("a", 70): `"` + strings.Repeat("a", 64) + `"...`,
	} {
		if got := QuoteText(in); got != want {
			t.Errorf("QuoteText(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckTextAllocatesNothingOnGoodText(t *testing.T) {
	s := "01P4-HL3090A0-18-U4V193-22-07-00"
	if n := testing.AllocsPerRun(100, func() { _ = CheckText(s) }); n != 0 {
		t.Errorf("CheckText allocates %v times", n)
	}
}

// FuzzCheckText: whatever CheckText accepts is fit for a label; whatever QuoteText makes of any
// input is printable UTF-8, so error messages and log lines carry no raw bytes either.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"01P4-HL3090A0-18-U4V193-22-07-00", "HL-225", "0000:43:00.0", "1.12.1-cb7a7bc", "01P0-HL2\x00\x7fA81",
		"AM\x1b[2J\x1b]0;pwned\x07", "01P0-\xff\xfe-bad", "HL-\u202e522", "\ufffd", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if reason := CheckText(s); reason == "" {
			if !utf8.ValidString(s) || len(s) > MaxTextLen {
				t.Fatalf("accepted %q", s)
			}
			for _, r := range s {
				if !unicode.IsPrint(r) {
					t.Fatalf("accepted %q with %U", s, r)
				}
			}
		} else if !utf8.ValidString(reason) {
			t.Fatalf("reason %q is not UTF-8", reason)
		}
		q := QuoteText(s)
		if !utf8.ValidString(q) {
			t.Fatalf("QuoteText(%q) = %q is not UTF-8", s, q)
		}
		for _, r := range q {
			if !unicode.IsPrint(r) {
				t.Fatalf("QuoteText(%q) = %q holds %U", s, q, r)
			}
		}
	})
}
