package verify

// The tests' world, started once by TestMain: a real docker-registry on a
// loopback port holding a Flux OCI artifact and an image in several
// variants (signed keyless, signed with a key, unsigned, signed by the
// wrong identity, tampered), signed by the test Sigstore
// (verify-testkit sign-images); mTLS material made here; and the HTTPS
// verify API (verify-api-server) serving an engine with the test trust
// root and a registry allowlist.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	ociManifest     = "application/vnd.oci.image.manifest.v1+json"
	fluxConfig      = "application/vnd.cncf.flux.config.v1+json"
	fluxContent     = "application/vnd.cncf.flux.content.v1.tar+gzip"
	imageConfigType = "application/vnd.oci.image.config.v1+json"
)

// world is what TestMain starts.
type world struct {
	registry      string // host:port
	trustedRoot   []byte
	subject       string
	issuer        string
	wrongSubj     string
	keys          map[string][]byte // job name -> public key PEM
	digests       map[string]string // "repo:tag" -> digest
	apiURL        string            // the public-good root (requests bring theirs), Rekor lookups on
	apiFileURL    string            // the test root from a file, no Rekor lookups (benchmarks)
	apiNoCacheURL string            // as apiFileURL, with no verdict cache (benchmarks)
	rekor         *rekorLog
	clientTLS     *tls.Config
	rogueTLS      *tls.Config
	silent        string // a "registry" that never answers
}

var env *world

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

// targetBin is a binary of the Rust build the cgo backend links: release,
// or debug with -tags verify_debug (VERIFY_TARGET_DIR overrides).
func targetBin(rel string) string {
	dir := os.Getenv("VERIFY_TARGET_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "target", buildProfile)
	}
	return filepath.Join(dir, rel)
}

func TestMain(m *testing.M) {
	var cleanups []func()
	code := func() int {
		defer func() {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}()
		w, err := startWorld(&cleanups)
		if err != nil {
			fmt.Fprintln(os.Stderr, "test world:", err)
			return 1
		}
		env = w
		return m.Run()
	}()
	os.Exit(code)
}

func startWorld(cleanups *[]func()) (*world, error) {
	dir, err := os.MkdirTemp("", "verify-go-")
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, func() { os.RemoveAll(dir) })
	w := &world{keys: map[string][]byte{}, digests: map[string]string{}}
	if w.registry, err = startRegistry(dir, cleanups); err != nil {
		return nil, err
	}
	if err := w.pushFixtures(dir); err != nil {
		return nil, err
	}
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, func() { silent.Close() })
	w.silent = silent.Addr().String()
	m, err := makeTLS()
	if err != nil {
		return nil, err
	}
	if w.rekor, err = startRekor(filepath.Join(dir, "signed", "rekor.json"), cleanups); err != nil {
		return nil, err
	}
	if w.apiURL, err = w.startAPI(dir, "builtin", m, map[string]any{"trust_root": map[string]any{"builtin": true}, "rekor_url": w.rekor.url}, cleanups); err != nil {
		return nil, err
	}
	if w.apiFileURL, err = w.startAPI(dir, "cached", m, nil, cleanups); err != nil {
		return nil, err
	}
	if w.apiNoCacheURL, err = w.startAPI(dir, "uncached", m, map[string]any{"cache": map[string]any{"capacity": 0}}, cleanups); err != nil {
		return nil, err
	}
	w.clientTLS = &tls.Config{RootCAs: m.pool, Certificates: []tls.Certificate{m.client}}
	w.rogueTLS = &tls.Config{RootCAs: m.pool, Certificates: []tls.Certificate{m.rogue}}
	return w, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRegistry starts Debian's docker-registry with filesystem storage.
func startRegistry(dir string, cleanups *[]func()) (string, error) {
	bin := "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("docker-registry"); err != nil {
			return "", fmt.Errorf("docker-registry must be installed (scripts/setup.sh): %w", err)
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		config := filepath.Join(dir, "registry.yml")
		body := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "registry-data"), addr)
		if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
			return "", err
		}
		cmd := exec.Command(bin, "serve", config)
		if err := cmd.Start(); err != nil {
			return "", err
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get("http://" + addr + "/v2/")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					*cleanups = append(*cleanups, func() { cmd.Process.Kill(); cmd.Wait() })
					return addr, nil
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return "", fmt.Errorf("docker-registry did not start")
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (w *world) pushBlob(repo string, data []byte) (string, error) {
	d := digestOf(data)
	resp, err := http.Post(fmt.Sprintf("http://%s/v2/%s/blobs/uploads/", w.registry, repo), "", nil)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		return "", fmt.Errorf("start upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if strings.HasPrefix(loc, "/") {
		loc = "http://" + w.registry + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+d, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("upload blob: %s", resp.Status)
	}
	return d, nil
}

func (w *world) pushManifest(repo, ref, mediaType string, data []byte) (string, error) {
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/%s", w.registry, repo, ref), bytes.NewReader(data))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("put manifest %s:%s: %s %s", repo, ref, resp.Status, body)
	}
	return digestOf(data), nil
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// pushOCI pushes a one-layer manifest with this config and layer.
func (w *world) pushOCI(repo, tag, configType string, config []byte, layerType string, layer []byte, annotations map[string]string) (string, error) {
	cd, err := w.pushBlob(repo, config)
	if err != nil {
		return "", err
	}
	ld, err := w.pushBlob(repo, layer)
	if err != nil {
		return "", err
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifest,
		"config":        descriptor{MediaType: configType, Digest: cd, Size: len(config)},
		"layers":        []descriptor{{MediaType: layerType, Digest: ld, Size: len(layer)}},
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	manifest, _ := json.Marshal(m)
	return w.pushManifest(repo, tag, ociManifest, manifest)
}

// fluxArtifact is what `flux push artifact` makes: a tar.gz of manifests.
func fluxArtifact(label string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	content := []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", label))
	tw.WriteHeader(&tar.Header{Name: "deploy/configmap.yaml", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)})
	tw.Write(content)
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// The variants pushed; each is a Flux artifact (flux/<variant>:v1) and an
// image (img/<variant>:v1).
var variants = []string{"keyless", "key", "unsigned", "wrong-identity", "tampered", "unlogged"}

func (w *world) pushFixtures(dir string) error {
	type job struct {
		Name      string `json:"name"`
		Reference string `json:"reference"`
		Digest    string `json:"digest"`
		Mode      string `json:"mode"`
	}
	var jobs []job
	for _, v := range variants {
		for _, kind := range []string{"flux", "img"} {
			repo := kind + "/" + v
			var d string
			var err error
			if kind == "flux" {
				d, err = w.pushOCI(repo, "v1", fluxConfig, []byte("{}"), fluxContent, fluxArtifact(v),
					map[string]string{"org.opencontainers.image.source": "https://github.com/acme/" + v, "org.opencontainers.image.revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"})
			} else {
				layer := make([]byte, 64)
				rand.Read(layer)
				config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{digestOf(layer)}}, "config": map[string]any{}})
				d, err = w.pushOCI(repo, "v1", imageConfigType, config, "application/vnd.oci.image.layer.v1.tar", layer, nil)
			}
			if err != nil {
				return err
			}
			w.digests[repo+":v1"] = d
			if v != "unsigned" {
				jobs = append(jobs, job{Name: kind + "-" + v, Reference: w.registry + "/" + repo, Digest: d, Mode: v})
			}
		}
	}
	jobsFile := filepath.Join(dir, "jobs.json")
	data, _ := json.Marshal(jobs)
	if err := os.WriteFile(jobsFile, data, 0o600); err != nil {
		return err
	}
	out := filepath.Join(dir, "signed")
	cmd := exec.Command(targetBin("verify-testkit"), "sign-images", "--jobs", jobsFile, "--out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("verify-testkit sign-images (build it: cargo build -p verify-testkit): %v: %s", err, msg)
	}
	var err error
	if w.trustedRoot, err = os.ReadFile(filepath.Join(out, "trusted_root.json")); err != nil {
		return err
	}
	var ids struct {
		Subject      string `json:"subject"`
		Issuer       string `json:"issuer"`
		WrongSubject string `json:"wrong_subject"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "identity.json"))
	if err != nil {
		return err
	}
	json.Unmarshal(raw, &ids)
	w.subject, w.issuer, w.wrongSubj = ids.Subject, ids.Issuer, ids.WrongSubject
	for _, j := range jobs {
		raw, err := os.ReadFile(filepath.Join(out, j.Name+".layer.json"))
		if err != nil {
			return err
		}
		var layer struct {
			MediaType   string            `json:"media_type"`
			Payload     string            `json:"payload_base64"`
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(raw, &layer); err != nil {
			return err
		}
		payload, _ := base64.StdEncoding.DecodeString(layer.Payload)
		repo := strings.TrimPrefix(j.Reference, w.registry+"/")
		config := []byte(`{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`)
		cd, err := w.pushBlob(repo, config)
		if err != nil {
			return err
		}
		pd, err := w.pushBlob(repo, payload)
		if err != nil {
			return err
		}
		manifest, _ := json.Marshal(map[string]any{
			"schemaVersion": 2,
			"mediaType":     ociManifest,
			"config":        descriptor{MediaType: imageConfigType, Digest: cd, Size: len(config)},
			"layers":        []descriptor{{MediaType: layer.MediaType, Digest: pd, Size: len(payload), Annotations: layer.Annotations}},
		})
		tag := "sha256-" + strings.TrimPrefix(j.Digest, "sha256:") + ".sig"
		if _, err := w.pushManifest(repo, tag, ociManifest, manifest); err != nil {
			return err
		}
		if j.Mode == "key" {
			if w.keys[j.Name], err = os.ReadFile(filepath.Join(out, j.Name+".pub")); err != nil {
				return err
			}
		}
	}
	return nil
}

// tlsMaterial: a CA, a server certificate for 127.0.0.1, a client
// certificate from the same CA, and a client certificate from another CA.
type tlsMaterial struct {
	caPEM, serverPEM, serverKeyPEM []byte
	client, rogue                  tls.Certificate
	pool                           *x509.CertPool
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func leaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, server bool) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func makeTLS() (*tlsMaterial, error) {
	ca, caKey, caPEM, err := newCA("verify test CA")
	if err != nil {
		return nil, err
	}
	m := &tlsMaterial{caPEM: caPEM, pool: x509.NewCertPool()}
	m.pool.AppendCertsFromPEM(caPEM)
	if m.serverPEM, m.serverKeyPEM, err = leaf(ca, caKey, "verify-api", true); err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := leaf(ca, caKey, "source-controller", false)
	if err != nil {
		return nil, err
	}
	if m.client, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	rogueCA, rogueKey, _, err := newCA("rogue CA")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err = leaf(rogueCA, rogueKey, "intruder", false)
	if err != nil {
		return nil, err
	}
	if m.rogue, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return m, nil
}

// startAPI starts verify-api-server on an engine with the test root from a
// file and a registry allowlist; extra replaces top-level engine fields.
func (w *world) startAPI(dir, label string, m *tlsMaterial, extra map[string]any, cleanups *[]func()) (string, error) {
	files := map[string][]byte{"ca.pem": m.caPEM, "server.pem": m.serverPEM, "server-key.pem": m.serverKeyPEM, "root.json": w.trustedRoot}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	engine := map[string]any{
		"trust_root": map[string]any{"file": filepath.Join(dir, "root.json")},
		"registry":   map[string]any{"allowed": []string{w.registry, w.silent}},
	}
	for k, v := range extra {
		engine[k] = v
	}
	config, _ := json.Marshal(engine)
	configFile := filepath.Join(dir, "engine-"+label+".json")
	if err := os.WriteFile(configFile, config, 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command(targetBin(filepath.Join("examples", "verify-api-server")),
		"--config", configFile, "--cert", filepath.Join(dir, "server.pem"), "--key", filepath.Join(dir, "server-key.pem"),
		"--client-ca", filepath.Join(dir, "ca.pem"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("verify-api-server (build it: cargo build -p verify-api --example verify-api-server): %w", err)
	}
	*cleanups = append(*cleanups, func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("verify-api-server did not start: %w", err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	return "https://" + addr, nil
}
