package manifests

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Algorithm is the only digest algorithm modelgit writes.
const Algorithm = "sha256"

// Digest is a validated content address, written "sha256:<64 hex>" as in
// OCI. The zero value is the empty digest and IsZero reports it.
//
// This file is the one place in modelgit that calls crypto/sha256: every
// other package hashes through NewDigester or SHA256.
type Digest struct {
	hex string
}

// ErrInvalidDigest is wrapped by every digest parsing error.
var ErrInvalidDigest = errors.New("invalid digest")

// ParseDigest parses "sha256:<64 lowercase hex>".
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("%w %q: want sha256:<64 hex digits>", ErrInvalidDigest, s)
	}
	if alg != Algorithm {
		return Digest{}, fmt.Errorf("%w %q: algorithm %q is not supported, want sha256", ErrInvalidDigest, s, alg)
	}
	if len(h) != 64 {
		return Digest{}, fmt.Errorf("%w %q: want 64 hex digits, got %d", ErrInvalidDigest, s, len(h))
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Digest{}, fmt.Errorf("%w %q: %q is not a lowercase hex digit", ErrInvalidDigest, s, c)
		}
	}
	return Digest{hex: h}, nil
}

// MustParseDigest is ParseDigest for constants in tests and examples.
func MustParseDigest(s string) Digest {
	d, err := ParseDigest(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Hex returns the 64 hex digits.
func (d Digest) Hex() string { return d.hex }

// String returns "sha256:<hex>", or "" for the zero digest.
func (d Digest) String() string {
	if d.hex == "" {
		return ""
	}
	return Algorithm + ":" + d.hex
}

// Short returns the algorithm and the first 12 hex digits, for tables.
func (d Digest) Short() string {
	if len(d.hex) < 12 {
		return d.String()
	}
	return Algorithm + ":" + d.hex[:12]
}

// IsZero reports whether d is the empty digest.
func (d Digest) IsZero() bool { return d.hex == "" }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Digest{}
		return nil
	}
	p, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Digester computes a Digest over what is written to it.
type Digester struct {
	h hash.Hash
	n int64
}

// NewDigester returns a Digester for sha256.
func NewDigester() *Digester { return &Digester{h: sha256.New()} }

// Write implements io.Writer; it never fails.
func (d *Digester) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

// Size is the number of bytes written so far.
func (d *Digester) Size() int64 { return d.n }

// Digest returns the digest of what was written so far.
func (d *Digester) Digest() Digest {
	return Digest{hex: hex.EncodeToString(d.h.Sum(nil))}
}

// SHA256 reads r to EOF and returns its digest and size.
func SHA256(r io.Reader) (Digest, int64, error) {
	d := NewDigester()
	n, err := io.Copy(d, r)
	if err != nil {
		return Digest{}, n, err
	}
	return d.Digest(), n, nil
}

// FromBytes returns the digest of b.
func FromBytes(b []byte) Digest {
	s := sha256.Sum256(b)
	return Digest{hex: hex.EncodeToString(s[:])}
}
