package render

import (
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/signing/signingtest"
)

// TestVerifySecret: the Secret Flux verifies with holds every ssh signer
// of allowed_signers under a key ending .sshpub (one authorized_keys line
// each), the OpenPGP keyring under a key ending .asc and the forge's merge
// keys, in flux-system under the name gotk-sync.yaml's verify.secretRef
// names, and is a valid Secret.
func TestVerifySecret(t *testing.T) {
	_, ada := signingtest.SSHKey(t, "ada")
	_, bob := signingtest.SSHKey(t, "bob")
	_, forge := signingtest.SSHKey(t, "forge")
	pgp := signingtest.NewGPGKey(t, "Cy <cy@example.com>", "ed25519", "sign")
	signers := "# who may sign\nada@example.com " + ada + "\n\"bob@example.com,b@example.com\" namespaces=\"git\" " + bob + "\nada@example.com " + bob + "\n"
	out, err := VerifySecret(VerifyKeys{
		AllowedSigners: []byte(signers),
		OpenPGP:        pgp.Public,
		Forge:          []NamedKey{{Name: "web-flow", Key: []byte(forge)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := docsOf(t, out)
	if len(docs) != 1 || docs[0]["kind"] != "Secret" || metaField(docs[0], "name") != AllowedSignersSecret || metaField(docs[0], "namespace") != FluxNamespace {
		t.Fatalf("VerifySecret =\n%s", out)
	}
	data := docs[0]["stringData"].(map[string]any)
	fields := func(s string) string { f := strings.Fields(s); return f[0] + " " + f[1] }
	want := map[string]string{
		"ada_example.com.sshpub":   fields(ada) + "\n",
		"bob_example.com.sshpub":   fields(bob) + "\n",
		"ada_example.com-2.sshpub": fields(bob) + "\n",
		"forge-web-flow.sshpub":    fields(forge) + "\n",
		"allowed_signers.asc":      string(pgp.Public),
	}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("stringData[%q] = %q, want %q", k, data[k], v)
		}
	}
	if len(data) != len(want) {
		t.Errorf("stringData has keys %v, want %d", data, len(want))
	}

	_, err = VerifySecret(VerifyKeys{AllowedSigners: []byte("*@example.com cert-authority " + ada + "\n")})
	if err == nil || !strings.Contains(err.Error(), "policies/allowed_signers:1: a cert-authority entry") {
		t.Errorf("cert-authority: %v", err)
	}
	_, err = VerifySecret(VerifyKeys{AllowedSigners: []byte("ada@example.com " + ada + "\n"), Forge: []NamedKey{{Name: "x", Key: []byte("not a key")}}})
	if err == nil || !strings.Contains(err.Error(), `reading forge key "x"`) {
		t.Errorf("bad forge key: %v", err)
	}
	if _, err := VerifySecret(VerifyKeys{}); err == nil || !strings.Contains(err.Error(), "lists no key") {
		t.Errorf("no keys: %v", err)
	}
}
