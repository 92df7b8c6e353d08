package signing

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5/plumbing/format/config"
)

// ErrNoSigningKey is returned by FromConfig when neither --signing-key nor
// user.signingkey names a key.
var ErrNoSigningKey = errors.New("no signing key configured: set `git config user.signingkey ~/.ssh/id_ed25519.pub` and `git config gpg.format ssh`, or pass --signing-key")

// GitConfig holds the git settings that decide who commits and how commits
// are signed, merged from the system, global and repository config files.
type GitConfig struct {
	UserName   string
	UserEmail  string
	SigningKey string // user.signingkey
	Format     string // gpg.format: "openpgp" (default), "ssh" or "x509"
	GPGSign    *bool  // commit.gpgsign; nil when unset
	GPGProgram string // gpg.openpgp.program or gpg.program
	SSHProgram string // gpg.ssh.program
	// TrustRoot is modelgit.trustRoot: where `modelgit verify` and
	// `modelgit check` start the chain of trust (a commit, or the
	// fingerprint of the key the first commit must be signed with).
	TrustRoot string
}

// maxIncludeDepth bounds include.path recursion, as git does.
const maxIncludeDepth = 10

// ReadGitConfig reads the configuration git would use in the repository at
// repoPath (which may be "" for none): the system file (/etc/gitconfig or
// $GIT_CONFIG_SYSTEM, skipped when $GIT_CONFIG_NOSYSTEM is set), the global
// files ($GIT_CONFIG_GLOBAL, or $XDG_CONFIG_HOME/git/config then
// $HOME/.gitconfig), the repository's config, and $GIT_CONFIG_COUNT
// pairs, later values winning. include.path is followed; includeIf is not.
func ReadGitConfig(repoPath string) (GitConfig, error) {
	var files []string
	if !envBool("GIT_CONFIG_NOSYSTEM") {
		if p := os.Getenv("GIT_CONFIG_SYSTEM"); p != "" {
			files = append(files, p)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if p, ok := os.LookupEnv("GIT_CONFIG_GLOBAL"); ok {
		if p != "" && p != os.DevNull {
			files = append(files, expandHome(p))
		}
	} else {
		home := os.Getenv("HOME")
		xdg := os.Getenv("XDG_CONFIG_HOME")
		if xdg == "" && home != "" {
			xdg = filepath.Join(home, ".config")
		}
		if xdg != "" {
			files = append(files, filepath.Join(xdg, "git", "config"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".gitconfig"))
		}
	}
	if repoPath != "" {
		if dir, err := gitDir(repoPath); err == nil {
			files = append(files, filepath.Join(dir, "config"))
		}
	}
	vals := map[string]string{}
	for _, f := range files {
		if err := readConfigFile(f, vals, 0); err != nil {
			return GitConfig{}, err
		}
	}
	if n, err := strconv.Atoi(os.Getenv("GIT_CONFIG_COUNT")); err == nil {
		for i := 0; i < n; i++ {
			k := os.Getenv(fmt.Sprintf("GIT_CONFIG_KEY_%d", i))
			if k != "" {
				vals[normKey(k)] = os.Getenv(fmt.Sprintf("GIT_CONFIG_VALUE_%d", i))
			}
		}
	}
	cfg := GitConfig{
		UserName:   vals["user.name"],
		UserEmail:  vals["user.email"],
		SigningKey: vals["user.signingkey"],
		Format:     strings.ToLower(vals["gpg.format"]),
		GPGProgram: vals["gpg.program"],
		SSHProgram: vals["gpg.ssh.program"],
		TrustRoot:  vals["modelgit.trustroot"],
	}
	if p := vals["gpg.openpgp.program"]; p != "" {
		cfg.GPGProgram = p
	}
	if cfg.Format == "" {
		cfg.Format = FormatOpenPGP
	}
	if v, ok := vals["commit.gpgsign"]; ok {
		b, err := parseBool(v)
		if err != nil {
			return GitConfig{}, fmt.Errorf("reading git config commit.gpgsign: %w", err)
		}
		cfg.GPGSign = &b
	}
	return cfg, nil
}

// gitDir finds the .git directory for a work tree or returns path itself for
// a bare repository.
func gitDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for dir := abs; ; {
		dot := filepath.Join(dir, ".git")
		if fi, err := os.Stat(dot); err == nil {
			if fi.IsDir() {
				return dot, nil
			}
			b, err := os.ReadFile(dot)
			if err != nil {
				return "", err
			}
			if rest, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:"); ok {
				gd := strings.TrimSpace(rest)
				if !filepath.IsAbs(gd) {
					gd = filepath.Join(dir, gd)
				}
				// The shared config lives in the common directory.
				if c, err := os.ReadFile(filepath.Join(gd, "commondir")); err == nil {
					cd := strings.TrimSpace(string(c))
					if !filepath.IsAbs(cd) {
						cd = filepath.Join(gd, cd)
					}
					return cd, nil
				}
				return gd, nil
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "objects")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding git directory above %q: none", path)
		}
		dir = parent
	}
}

func readConfigFile(path string, vals map[string]string, depth int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(data) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading git config %q: %w", path, err)
	}
	c := config.New()
	if err := config.NewDecoder(bytes.NewReader(data)).Decode(c); err != nil {
		return fmt.Errorf("parsing git config %q: %w", path, err)
	}
	for _, s := range c.Sections {
		sec := strings.ToLower(s.Name)
		for _, o := range s.Options {
			k := sec + "." + strings.ToLower(o.Key)
			vals[k] = o.Value
			if k == "include.path" && depth < maxIncludeDepth {
				inc := expandHome(o.Value)
				if !filepath.IsAbs(inc) {
					inc = filepath.Join(filepath.Dir(path), inc)
				}
				if err := readConfigFile(inc, vals, depth+1); err != nil {
					return err
				}
			}
		}
		for _, ss := range s.Subsections {
			for _, o := range ss.Options {
				vals[sec+"."+ss.Name+"."+strings.ToLower(o.Key)] = o.Value
			}
		}
	}
	return nil
}

// normKey lowercases the section and key of "section[.sub].key", keeping
// the subsection's case as git does.
func normKey(k string) string {
	first := strings.IndexByte(k, '.')
	last := strings.LastIndexByte(k, '.')
	if first < 0 {
		return strings.ToLower(k)
	}
	return strings.ToLower(k[:first]) + k[first:last] + strings.ToLower(k[last:])
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q (want true or false)", v)
}

func envBool(name string) bool {
	v, ok := os.LookupEnv(name)
	if !ok {
		return false
	}
	b, err := parseBool(v)
	return err == nil && b
}

// FromConfig picks the Signer git would use: explicitKey (from
// --signing-key) overrides user.signingkey; gpg.format "ssh" loads the SSH
// key with LoadSSHSigner; "openpgp" uses the key file directly when the key
// names an armored secret key file, and gpg (gpg.program) otherwise. With no
// key at all it returns ErrNoSigningKey.
func FromConfig(cfg GitConfig, explicitKey string) (Signer, error) {
	key := cfg.SigningKey
	if explicitKey != "" {
		key = explicitKey
	}
	format := strings.ToLower(cfg.Format)
	if format == "" {
		format = FormatOpenPGP
	}
	if key == "" {
		return nil, ErrNoSigningKey
	}
	// An explicit key says what it is: an SSH key file or literal signs
	// with SSH whatever gpg.format says, as a user passing
	// --signing-key ~/.ssh/id_ed25519 means.
	if explicitKey != "" && looksLikeSSHKey(explicitKey) {
		format = FormatSSH
	}
	switch format {
	case FormatSSH:
		return LoadSSHSigner(key)
	case FormatOpenPGP:
		p := expandHome(key)
		if data, err := os.ReadFile(p); err == nil {
			if bytes.Contains(data, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
				return OpenPGPSigner(data, nil)
			}
			if _, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data)); err == nil {
				return nil, fmt.Errorf("using OpenPGP signing key %q: the file holds only public keys (export the secret key with `gpg --export-secret-keys --armor`, or name the key id for gpg)", p)
			}
		}
		prog := cfg.GPGProgram
		if prog == "" {
			prog = "gpg"
		}
		return &gpgSigner{keyID: key, program: prog}, nil
	default:
		return nil, fmt.Errorf("using gpg.format %q: unsupported (want \"ssh\" or \"openpgp\")", cfg.Format)
	}
}

// looksLikeSSHKey reports whether key is an SSH key literal ("key::…",
// "ssh-…") or a file holding an OpenSSH private or public key.
func looksLikeSSHKey(key string) bool {
	if strings.HasPrefix(key, "key::") || strings.HasPrefix(key, "ssh-") {
		return true
	}
	data, err := os.ReadFile(expandHome(key))
	if err != nil {
		return false
	}
	data = bytes.TrimSpace(data)
	return bytes.HasPrefix(data, []byte("-----BEGIN OPENSSH PRIVATE KEY-----")) ||
		bytes.HasPrefix(data, []byte("ssh-")) || bytes.HasPrefix(data, []byte("ecdsa-sha2-")) ||
		bytes.HasPrefix(data, []byte("sk-"))
}
