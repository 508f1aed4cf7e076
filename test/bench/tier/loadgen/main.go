// Command benchload is the tier bench's load generator (npm run bench, test/bench/tier-bench.ts).
// It exists because the tools Debian ships cannot do what the bench needs: the provisioned
// listener of the local stack requires a PROXY protocol v2 header (HAProxy sends one), which
// neither wrk nor h2load can send, and the bench must choose each TLS client's group order
// (X25519 first, as browsers, or P-256 first) and many client addresses. With -proxy, every
// connection opens with a PROXY v2 header naming a client address from -client-base onwards
// (connection i uses address i mod -clients), so per-IP limits see many clients, as behind an
// NLB; without it (the stock twin) the connection is plain TLS.
//
// Modes (one JSON object on stdout at the end; idle mode also prints progress events):
//
//	handshake  full (or with -resume, resumed) TLS handshakes, -conns at a time, -n or -duration
//	keepalive  HTTP/1.1 GETs over -conns kept-alive connections; closed loop, or -rate r/s open loop
//	           (latency from each request's scheduled time, so queueing is counted)
//	h2         HTTP/2 GETs, -streams concurrent requests multiplexed over -conns connections
//	idle       opens -n connections (one GET each), holds them with a GET every -heartbeat, for -hold
//
// Everything is bounded: -duration caps each run, -n caps handshakes and connections.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	mode, addr, sni, path, groups, clientBase string
	tlsVersion                                string
	proxy, resume, request                    bool
	conns, streams, clients, n                int
	rate                                      float64
	duration, hold, heartbeat, timeout        time.Duration
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.mode, "mode", "keepalive", "handshake | keepalive | h2 | idle")
	flag.StringVar(&o.addr, "addr", "198.18.3.10:443", "proxy address")
	flag.StringVar(&o.sni, "sni", "api.tier.test", "server name (SNI and Host)")
	flag.StringVar(&o.path, "path", "/healthz", "request path")
	flag.StringVar(&o.groups, "groups", "p256,x25519", "client key-exchange groups in preference order (the first gets the TLS 1.3 key share)")
	flag.StringVar(&o.tlsVersion, "tls", "1.3", "1.2 or 1.3")
	flag.StringVar(&o.clientBase, "client-base", "100.64.0.1", "first client address named in PROXY headers")
	flag.BoolVar(&o.proxy, "proxy", false, "send a PROXY protocol v2 header first")
	flag.BoolVar(&o.resume, "resume", false, "handshake mode: resume sessions (a session cache; each handshake sends one request so TLS 1.3 tickets arrive)")
	flag.BoolVar(&o.request, "request", false, "handshake mode: one GET per connection")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections")
	flag.IntVar(&o.streams, "streams", 64, "h2: concurrent requests")
	flag.IntVar(&o.clients, "clients", 1024, "distinct client addresses in PROXY headers")
	flag.IntVar(&o.n, "n", 0, "handshake: at most this many; idle: connections to open")
	flag.Float64Var(&o.rate, "rate", 0, "keepalive: fixed request rate (r/s); 0 = closed loop")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "run time (bound)")
	flag.DurationVar(&o.hold, "hold", 10*time.Second, "idle: how long to hold the connections once open")
	flag.DurationVar(&o.heartbeat, "heartbeat", 8*time.Second, "idle: one GET per connection this often (below the proxy's keepalive_timeout)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "per connection / request timeout")
	flag.Parse()
	return o
}

// proxyHeader is a PROXY protocol v2 header (PROXY command, TCP over IPv4).
func proxyHeader(src net.IP, srcPort uint16, dst *net.TCPAddr) []byte {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n")
	h = append(h, 0x21, 0x11, 0, 12)
	h = append(h, src.To4()...)
	h = append(h, dst.IP.To4()...)
	h = binary.BigEndian.AppendUint16(h, srcPort)
	h = binary.BigEndian.AppendUint16(h, uint16(dst.Port))
	return h
}

type dialer struct {
	o        options
	dst      *net.TCPAddr
	base     uint32
	cfg      *tls.Config
	sequence atomic.Uint64
}

func newDialer(o options) (*dialer, error) {
	dst, err := net.ResolveTCPAddr("tcp4", o.addr)
	if err != nil {
		return nil, err
	}
	base := net.ParseIP(o.clientBase).To4()
	if base == nil {
		return nil, fmt.Errorf("bad -client-base %q", o.clientBase)
	}
	version := uint16(tls.VersionTLS13)
	if o.tlsVersion == "1.2" {
		version = tls.VersionTLS12
	}
	var curves []tls.CurveID
	for _, g := range strings.Split(o.groups, ",") {
		switch strings.TrimSpace(strings.ToLower(g)) {
		case "x25519":
			curves = append(curves, tls.X25519)
		case "p256", "p-256":
			curves = append(curves, tls.CurveP256)
		case "p384", "p-384":
			curves = append(curves, tls.CurveP384)
		default:
			return nil, fmt.Errorf("unknown group %q", g)
		}
	}
	cfg := &tls.Config{
		ServerName: o.sni, MinVersion: version, MaxVersion: version, CurvePreferences: curves,
		// The bench measures the proxy: certificate verification is the client's cost, not the proxy's.
		InsecureSkipVerify: true, //nolint:gosec
		NextProtos:         []string{"http/1.1"},
	}
	if o.mode == "h2" {
		cfg.NextProtos = []string{"h2"}
	}
	if o.resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	return &dialer{o: o, dst: dst, base: binary.BigEndian.Uint32(base), cfg: cfg}, nil
}

// dial opens TCP, sends the PROXY header if asked, and completes the TLS handshake.
func (d *dialer) dial(ctx context.Context) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.o.timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp4", d.dst.String())
	if err != nil {
		return nil, err
	}
	if d.o.proxy {
		i := d.sequence.Add(1) - 1
		src := make(net.IP, 4)
		binary.BigEndian.PutUint32(src, d.base+uint32(i%uint64(d.o.clients)))
		if _, err := raw.Write(proxyHeader(src, uint16(1024+i%60000), d.dst)); err != nil {
			raw.Close()
			return nil, err
		}
	}
	conn := tls.Client(raw, d.cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

type result struct {
	Mode        string         `json:"mode"`
	Elapsed     float64        `json:"elapsedSeconds"`
	Handshakes  int64          `json:"handshakes"`
	Resumed     int64          `json:"resumed"`
	Requests    int64          `json:"requests"`
	Statuses    map[string]int `json:"statuses"`
	Errors      int64          `json:"errors"`
	FirstError  string         `json:"firstError,omitempty"`
	Latency     *percentiles   `json:"latencyMs,omitempty"`
	Protocol    string         `json:"protocol,omitempty"`
	Offered     float64        `json:"offeredRate,omitempty"`
	MaxOpen     int64          `json:"maxOpen,omitempty"`
	OpenAtEnd   int64          `json:"openAtEnd,omitempty"`
	HoldSeconds float64        `json:"holdSeconds,omitempty"`
}

type percentiles struct {
	P50, P90, P99, P999, Max float64
	Count                    int
}

func summarise(ms []float64) *percentiles {
	if len(ms) == 0 {
		return nil
	}
	sort.Float64s(ms)
	at := func(p float64) float64 {
		i := int(p * float64(len(ms)))
		if i >= len(ms) {
			i = len(ms) - 1
		}
		return ms[i]
	}
	return &percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: ms[len(ms)-1], Count: len(ms)}
}

type tally struct {
	mu         sync.Mutex
	statuses   map[string]int
	latencies  []float64
	errors     atomic.Int64
	firstError atomic.Value
	handshakes atomic.Int64
	resumed    atomic.Int64
	requests   atomic.Int64
}

func newTally() *tally { return &tally{statuses: map[string]int{}} }

func (t *tally) fail(err error) {
	t.errors.Add(1)
	t.firstError.CompareAndSwap(nil, err.Error())
}

// merge adds one worker's answers by status and its latencies.
func (t *tally) merge(counts map[int]int, latencies []float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for status, n := range counts {
		t.statuses[fmt.Sprint(status)] += n
	}
	t.latencies = append(t.latencies, latencies...)
}

func (t *tally) result(mode string, started time.Time) result {
	r := result{Mode: mode, Elapsed: time.Since(started).Seconds(), Handshakes: t.handshakes.Load(), Resumed: t.resumed.Load(),
		Requests: t.requests.Load(), Statuses: t.statuses, Errors: t.errors.Load(), Latency: summarise(t.latencies)}
	if e, ok := t.firstError.Load().(string); ok {
		r.FirstError = e
	}
	return r
}

// get sends one GET on a kept-alive HTTP/1.1 connection and reads the whole answer.
func get(conn net.Conn, br *bufio.Reader, request []byte, timeout time.Duration) (status int, closeAfter bool, err error) {
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err = conn.Write(request); err != nil {
		return 0, true, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, true, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Close || err != nil, err
}

func requestBytes(o options) []byte {
	return []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: apiproxy-bench\r\nAccept: */*\r\n\r\n", o.path, o.sni))
}

func runHandshakes(o options, d *dialer) result {
	t := newTally()
	started := time.Now()
	deadline := started.Add(o.duration)
	request := requestBytes(o)
	var issued atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < o.conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && (o.n == 0 || issued.Add(1) <= int64(o.n)) {
				conn, err := d.dial(context.Background())
				if err != nil {
					t.fail(err)
					continue
				}
				t.handshakes.Add(1)
				if o.request || o.resume {
					status, _, err := get(conn, bufio.NewReader(conn), request, o.timeout)
					if err != nil {
						t.fail(err)
					} else {
						t.requests.Add(1)
						t.merge(map[int]int{status: 1}, nil)
					}
				}
				if conn.ConnectionState().DidResume {
					t.resumed.Add(1)
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	return t.result("handshake", started)
}

func runKeepalive(o options, d *dialer) result {
	t := newTally()
	started := time.Now()
	deadline := started.Add(o.duration)
	request := requestBytes(o)
	var schedule chan time.Time
	if o.rate > 0 {
		total := int(o.rate * o.duration.Seconds())
		schedule = make(chan time.Time, total)
		interval := time.Duration(float64(time.Second) / o.rate)
		for k := 0; k < total; k++ {
			schedule <- started.Add(time.Duration(k) * interval)
		}
		close(schedule)
	}
	var wg sync.WaitGroup
	for w := 0; w < o.conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn *tls.Conn
			var br *bufio.Reader
			counts := map[int]int{}
			latencies := make([]float64, 0, 4096)
			defer func() {
				if conn != nil {
					conn.Close()
				}
				t.merge(counts, latencies)
			}()
			for {
				var due time.Time
				if schedule != nil {
					s, ok := <-schedule
					if !ok {
						return
					}
					due = s
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
				} else if !time.Now().Before(deadline) {
					return
				} else {
					due = time.Now()
				}
				if conn == nil {
					c, err := d.dial(context.Background())
					if err != nil {
						t.fail(err)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					t.handshakes.Add(1)
					conn, br = c, bufio.NewReaderSize(c, 16384)
				}
				status, closeAfter, err := get(conn, br, request, o.timeout)
				if err != nil {
					t.fail(err)
				} else {
					t.requests.Add(1)
					counts[status]++
					latencies = append(latencies, float64(time.Since(due).Microseconds())/1000)
				}
				if closeAfter {
					conn.Close()
					conn = nil
				}
			}
		}()
	}
	wg.Wait()
	r := t.result("keepalive", started)
	r.Offered = o.rate
	return r
}

func runH2(o options, d *dialer) result {
	t := newTally()
	transport := &http.Transport{
		ForceAttemptHTTP2:   true,
		MaxConnsPerHost:     o.conns,
		MaxIdleConnsPerHost: o.conns,
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			conn, err := d.dial(ctx)
			if err == nil {
				t.handshakes.Add(1)
			}
			return conn, err
		},
	}
	client := &http.Client{Transport: transport, Timeout: o.timeout}
	url := fmt.Sprintf("https://%s%s", o.sni, o.path)
	started := time.Now()
	deadline := started.Add(o.duration)
	var proto atomic.Value
	var wg sync.WaitGroup
	for s := 0; s < o.streams; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts := map[int]int{}
			latencies := make([]float64, 0, 4096)
			for time.Now().Before(deadline) {
				begin := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					t.fail(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				proto.CompareAndSwap(nil, resp.Proto)
				t.requests.Add(1)
				counts[resp.StatusCode]++
				latencies = append(latencies, float64(time.Since(begin).Microseconds())/1000)
			}
			t.merge(counts, latencies)
		}()
	}
	wg.Wait()
	transport.CloseIdleConnections()
	r := t.result("h2", started)
	if p, ok := proto.Load().(string); ok {
		r.Protocol = p
	}
	return r
}

func event(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// runIdle opens connections until -n are open or failures say the proxy stopped accepting,
// prints {"event":"held"}, keeps them alive for -hold, then closes them.
func runIdle(o options, d *dialer) result {
	t := newTally()
	started := time.Now()
	deadline := started.Add(o.duration)
	request := requestBytes(o)
	var open, maxOpen atomic.Int64
	stop := make(chan struct{})
	var opened sync.WaitGroup
	var live sync.WaitGroup
	var issued atomic.Int64
	const failureBudget = 256
	for w := 0; w < o.conns; w++ {
		opened.Add(1)
		go func() {
			defer opened.Done()
			for time.Now().Before(deadline) && t.errors.Load() < failureBudget && issued.Add(1) <= int64(o.n) {
				conn, err := d.dial(context.Background())
				if err != nil {
					t.fail(err)
					continue
				}
				t.handshakes.Add(1)
				br := bufio.NewReaderSize(conn, 4096)
				if _, closeAfter, err := get(conn, br, request, o.timeout); err != nil || closeAfter {
					if err == nil {
						err = errors.New("the proxy closed the connection after its first answer")
					}
					t.fail(err)
					conn.Close()
					continue
				}
				t.requests.Add(1)
				now := open.Add(1)
				for m := maxOpen.Load(); now > m && !maxOpen.CompareAndSwap(m, now); m = maxOpen.Load() {
				}
				live.Add(1)
				go func() {
					defer live.Done()
					defer conn.Close()
					// Spread the heartbeats: each connection's first one at a fraction of the period.
					next := time.Now().Add(time.Duration(float64(o.heartbeat) * (0.5 + 0.5*float64(t.handshakes.Load()%100)/100)))
					for {
						select {
						case <-stop:
							open.Add(-1)
							return
						case <-time.After(time.Until(next)):
						}
						next = next.Add(o.heartbeat)
						if _, closeAfter, err := get(conn, br, request, o.timeout); err != nil || closeAfter {
							open.Add(-1)
							return
						}
						t.requests.Add(1)
					}
				}()
			}
		}()
	}
	opened.Wait()
	event(map[string]any{"event": "held", "open": open.Load(), "errors": t.errors.Load(), "firstError": t.firstError.Load(), "seconds": time.Since(started).Seconds()})
	holdEnd := time.Now().Add(o.hold)
	for time.Now().Before(holdEnd) {
		time.Sleep(time.Second)
		event(map[string]any{"event": "open", "open": open.Load()})
	}
	openAtEnd := open.Load()
	close(stop)
	live.Wait()
	r := t.result("idle", started)
	r.MaxOpen, r.OpenAtEnd, r.HoldSeconds = maxOpen.Load(), openAtEnd, o.hold.Seconds()
	return r
}

func main() {
	o := parseFlags()
	// Many connections need many descriptors: this process's own limit, up to its hard limit.
	// Root may raise its own hard limit (CAP_SYS_RESOURCE, up to fs.nr_open); else the soft one up to the hard one.
	want := syscall.Rlimit{Cur: 262144, Max: 262144}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		var lim syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
			lim.Cur = lim.Max
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	d, err := newDialer(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var r result
	switch o.mode {
	case "handshake":
		r = runHandshakes(o, d)
	case "keepalive":
		r = runKeepalive(o, d)
	case "h2":
		r = runH2(o, d)
	case "idle":
		r = runIdle(o, d)
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", o.mode)
		os.Exit(2)
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}
