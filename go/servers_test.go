package verify

// Servers the option tests start: a Rekor-shaped log serving the test
// Sigstore's entries (written by verify-testkit sign-images as rekor.json),
// and a forward proxy (absolute-form HTTP and CONNECT) that requires
// Basic proxy credentials and counts what went through it.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rekorLog answers Rekor v1's search and entry endpoints from a dump.
type rekorLog struct {
	url      string
	searches atomic.Int64
	fetches  atomic.Int64
}

func startRekor(dump string, cleanups *[]func()) (*rekorLog, error) {
	raw, err := os.ReadFile(dump)
	if err != nil {
		return nil, err
	}
	var log struct {
		Index   map[string][]string        `json:"index"`
		Entries map[string]json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(raw, &log); err != nil {
		return nil, fmt.Errorf("%s: %w", dump, err)
	}
	r := &rekorLog{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/index/retrieve", func(w http.ResponseWriter, req *http.Request) {
		r.searches.Add(1)
		var query struct {
			Hash string `json:"hash"`
		}
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<16)).Decode(&query); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := log.Index[strings.ToLower(strings.TrimPrefix(query.Hash, "sha256:"))]
		if ids == nil {
			ids = []string{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ids)
	})
	mux.HandleFunc("GET /api/v1/log/entries/{id}", func(w http.ResponseWriter, req *http.Request) {
		r.fetches.Add(1)
		entry, ok := log.Entries[strings.ToLower(req.PathValue("id"))]
		if !ok {
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(entry)
	})
	url, stop, err := serve(mux)
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, stop)
	r.url = url
	return r, nil
}

// serve serves h on a loopback port.
func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// forwardProxy is an HTTP proxy requiring user:password.
type forwardProxy struct {
	addr           string
	user, password string
	proxied        atomic.Int64 // requests forwarded (absolute-form and CONNECT)
	refused        atomic.Int64 // requests without the right credentials
	mu             sync.Mutex
	hosts          map[string]bool
}

func startProxy(user, password string) (*forwardProxy, func(), error) {
	p := &forwardProxy{user: user, password: password, hosts: map[string]bool{}}
	url, stop, err := serve(p)
	if err != nil {
		return nil, nil, err
	}
	p.addr = strings.TrimPrefix(url, "http://")
	return p, stop, nil
}

func (p *forwardProxy) authorized(r *http.Request) bool {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.password))
	return r.Header.Get("Proxy-Authorization") == want
}

func (p *forwardProxy) sawHost(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[host]
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		p.refused.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="test proxy"`)
		http.Error(w, "proxy credentials required", http.StatusProxyAuthRequired)
		return
	}
	p.proxied.Add(1)
	p.mu.Lock()
	p.hosts[r.Host] = true
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *forwardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	upstream, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { io.Copy(upstream, buf); upstream.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(client, upstream); done <- struct{}{} }()
	<-done
	<-done
	client.Close()
	upstream.Close()
}
