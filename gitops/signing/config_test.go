package signing_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgit/modelgit/gitops/signing"
	"github.com/modelgit/modelgit/gitops/signing/signingtest"
)

func TestReadGitConfig(t *testing.T) {
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = Global Name\n\temail = global@example.com\n\tsigningKey = ~/.ssh/id.pub\n[gpg]\n\tformat = ssh\n[commit]\n\tgpgsign\n[gpg \"ssh\"]\n\tprogram = /usr/bin/ssh-keygen\n")
	r := newRepo(t)
	runIn(t, r.Root, nil, "git", "config", "user.email", "local@example.com")

	cfg, err := signing.ReadGitConfig(filepath.Join(r.Root, "models"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserName != "Global Name" || cfg.UserEmail != "local@example.com" || cfg.SigningKey != "~/.ssh/id.pub" || cfg.Format != "ssh" || cfg.SSHProgram != "/usr/bin/ssh-keygen" {
		t.Errorf("ReadGitConfig = %+v", cfg)
	}
	if cfg.GPGSign == nil || !*cfg.GPGSign {
		t.Errorf("GPGSign = %v, want true", cfg.GPGSign)
	}
	// Agrees with git itself.
	if got := strings.TrimSpace(runIn(t, r.Root, nil, "git", "config", "user.email")); got != cfg.UserEmail {
		t.Errorf("git says user.email %q, ReadGitConfig %q", got, cfg.UserEmail)
	}

	// The XDG file is read before ~/.gitconfig, which wins.
	writeFile(t, filepath.Join(home, ".config", "git", "config"), "[user]\n\tname = XDG Name\n[gpg]\n\tprogram = gpg2\n")
	cfg, _ = signing.ReadGitConfig(r.Root)
	if cfg.UserName != "Global Name" || cfg.GPGProgram != "gpg2" {
		t.Errorf("with XDG: %+v", cfg)
	}

	// GIT_CONFIG_GLOBAL replaces both, and the default format is openpgp.
	t.Setenv("GIT_CONFIG_GLOBAL", writeFile(t, filepath.Join(t.TempDir(), "g"), "[user]\n\tsigningkey = ABCDEF\n"))
	cfg, _ = signing.ReadGitConfig("")
	if cfg.SigningKey != "ABCDEF" || cfg.Format != "openpgp" || cfg.UserName != "" || cfg.GPGSign != nil {
		t.Errorf("with GIT_CONFIG_GLOBAL: %+v", cfg)
	}

	writeFile(t, filepath.Join(r.Root, ".git", "config"), "[commit]\n\tgpgsign = maybe\n")
	if _, err := signing.ReadGitConfig(r.Root); err == nil || !strings.Contains(err.Error(), "commit.gpgsign") {
		t.Errorf("bad bool: %v", err)
	}
}

func TestFromConfig(t *testing.T) {
	isolate(t)
	key, _ := signingtest.SSHKey(t, "alice")
	armoredSecret := writeFile(t, filepath.Join(t.TempDir(), "key.asc"), "")
	gk := signingtest.NewGPGKey(t, "Q <q@example.com>", "default", "default")
	fpr, secret := gk.Fingerprint, gk.Secret
	if err := os.WriteFile(armoredSecret, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	publicFile := writeFile(t, filepath.Join(t.TempDir(), "pub.asc"), string(gk.Public))

	tests := []struct {
		name       string
		cfg        signing.GitConfig
		explicit   string
		wantFormat string
		wantKeyID  string
		wantErr    string
	}{
		{"no key", signing.GitConfig{Format: "ssh"}, "", "", "", "user.signingkey"},
		{"ssh from config", signing.GitConfig{Format: "ssh", SigningKey: key + ".pub"}, "", "ssh", "SHA256:", ""},
		{"explicit overrides", signing.GitConfig{Format: "ssh", SigningKey: "/nonexistent"}, key, "ssh", "SHA256:", ""},
		{"openpgp key file", signing.GitConfig{}, armoredSecret, "openpgp", fpr, ""},
		{"openpgp key id uses gpg", signing.GitConfig{Format: "openpgp", SigningKey: fpr}, "", "openpgp", fpr, ""},
		{"openpgp public file", signing.GitConfig{Format: "openpgp"}, publicFile, "", "", "only public keys"},
		{"x509", signing.GitConfig{Format: "x509", SigningKey: "k"}, "", "", "", "unsupported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := signing.FromConfig(tc.cfg, tc.explicit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FromConfig = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Format() != tc.wantFormat || !strings.HasPrefix(s.KeyID(), tc.wantKeyID) {
				t.Errorf("Format, KeyID = %q, %q", s.Format(), s.KeyID())
			}
		})
	}
	if _, err := signing.FromConfig(signing.GitConfig{}, ""); !errors.Is(err, signing.ErrNoSigningKey) {
		t.Errorf("FromConfig(empty) = %v, want ErrNoSigningKey", err)
	}
}

func TestFromConfigExplicitSSHKeyWhateverTheFormat(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	for _, k := range []string{key, key + ".pub"} {
		s, err := signing.FromConfig(signing.GitConfig{Format: "openpgp"}, k)
		if err != nil {
			t.Fatalf("FromConfig(%s): %v", k, err)
		}
		if s.Format() != signing.FormatSSH {
			t.Errorf("FromConfig(%s).Format() = %s, want ssh", k, s.Format())
		}
	}
}
