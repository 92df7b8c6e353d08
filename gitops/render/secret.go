package render

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelgit/modelgit/gitops/signing"
)

// VerifyKeys are the public keys Flux's source-controller verifies commit
// signatures with: what the AllowedSignersSecret holds.
type VerifyKeys struct {
	// AllowedSigners is policies/allowed_signers (ssh allowed_signers
	// format), File its path for messages.
	AllowedSigners []byte
	File           string
	// OpenPGP is policies/allowed_signers.asc: armored OpenPGP public keys.
	OpenPGP []byte
	// Forge are the keys the forge signs its merge commits with (GitHub's
	// web-flow key, the fake's MergeKey): each an authorized_keys line or
	// an armored OpenPGP public key block, by name.
	Forge []NamedKey
}

// NamedKey is a public key and the name its Secret key starts with.
type NamedKey struct {
	Name string
	Key  []byte
}

// VerifySecret renders the Secret the cluster's GitRepository verifies
// commits against (spec.verify.secretRef): in flux-system, named
// AllowedSignersSecret, one data key per public key, as source-controller
// v1.9.6 reads them: "<principal>.sshpub" (one authorized_keys line) for
// each ssh allowed_signers entry, "allowed_signers.asc" for the OpenPGP
// keyring, "forge-<name>.sshpub" or "forge-<name>.asc" for each forge key.
// A cert-authority entry cannot verify a commit in source-controller and
// is an error naming its file and line. The platform team applies the
// Secret (it is not committed under clusters/: trust is set by who runs
// the cluster, not by a commit to the repository it guards).
func VerifySecret(k VerifyKeys) ([]byte, error) {
	file := k.File
	if file == "" {
		file = "policies/allowed_signers"
	}
	as, err := signing.ParseAllowedSigners(file, k.AllowedSigners)
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	add := func(base, ext, value string) {
		name := secretKeyName(base)
		key := name + ext
		for i := 2; data[key] != ""; i++ {
			key = name + "-" + strconv.Itoa(i) + ext
		}
		data[key] = value
	}
	for _, e := range as.Keys() {
		if e.CertAuthority {
			return nil, fmt.Errorf("%s:%d: a cert-authority entry (%s) cannot be given to Flux, which verifies commit signatures against plain public keys; list the signers' own keys", e.File, e.Line, e.Principals)
		}
		principal, _, _ := strings.Cut(e.Principals, ",")
		add(strings.Trim(principal, `"`), ".sshpub", e.AuthorizedKey+"\n")
	}
	if len(bytes.TrimSpace(k.OpenPGP)) > 0 {
		if _, err := signing.LoadKeyRing(k.OpenPGP); err != nil {
			return nil, fmt.Errorf("reading %s.asc: %w", file, err)
		}
		data["allowed_signers.asc"] = string(k.OpenPGP)
	}
	for _, f := range k.Forge {
		key := bytes.TrimSpace(f.Key)
		switch {
		case bytes.HasPrefix(key, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")):
			if _, err := signing.LoadKeyRing(key); err != nil {
				return nil, fmt.Errorf("reading forge key %q: %w", f.Name, err)
			}
			add("forge-"+f.Name, ".asc", string(key)+"\n")
		default:
			line, err := sshKeyLine(key)
			if err != nil {
				return nil, fmt.Errorf("reading forge key %q: %w", f.Name, err)
			}
			add("forge-"+f.Name, ".sshpub", line+"\n")
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s lists no key and there is no OpenPGP key or forge key: Flux would verify no commit; add the signers' keys first", file)
	}
	s := corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name: AllowedSignersSecret, Namespace: FluxNamespace,
			Labels: map[string]string{LabelManagedBy: ManagedBy},
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: data,
	}
	o, err := toObject(s)
	if err != nil {
		return nil, err
	}
	return encodeDocs([]object{o}, "# Apply with kubectl apply -f - (see docs/flux.md); it is not committed.\n")
}

// sshKeyLine checks an authorized_keys line and returns it without its
// comment.
func sshKeyLine(b []byte) (string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return "", fmt.Errorf("want an ssh public key line (ssh-ed25519 AAAA…) or an armored OpenPGP public key: %w", err)
	}
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub))), nil
}

var notKeyChar = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)

// secretKeyName turns a principal into what a Secret key may hold
// ([-._a-zA-Z0-9]+): "ada@example.com" becomes "ada_example.com".
func secretKeyName(s string) string {
	s = notKeyChar.ReplaceAllString(s, "_")
	s = strings.Trim(s, ".")
	if s == "" {
		return "key"
	}
	return s
}
