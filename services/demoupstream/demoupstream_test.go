package demoupstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func serve(t *testing.T) (string, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	srv := httptest.NewServer(H2C(HTTPHandler("orders", 2*time.Second, slog.New(slog.NewJSONHandler(&logs, nil)))))
	t.Cleanup(srv.Close)
	return srv.URL, &logs
}

func TestHTTPAnswersWhatItReceived(t *testing.T) {
	url, logs := serve(t)
	req, _ := http.NewRequest("POST", url+"/api/orders?page=2", strings.NewReader(`{"sku":"x"}`))
	req.Header.Set("X-Request-Id", "r-1")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var seen Seen
	if err := json.NewDecoder(res.Body).Decode(&seen); err != nil {
		t.Fatal(err)
	}
	if seen.Service != "orders" || seen.Method != "POST" || seen.Path != "/api/orders" || seen.Query != "page=2" ||
		seen.BodyBytes != 11 || seen.Headers["X-Request-Id"] != "r-1" || seen.Proto != "HTTP/1.1" {
		t.Fatalf("seen: %+v", seen)
	}
	if !strings.Contains(logs.String(), `"path":"/api/orders"`) || strings.Contains(logs.String(), `"sku"`) {
		t.Fatalf("the log records the request, never its body: %s", logs.String())
	}
}

func TestH2CWebSocketAndSlow(t *testing.T) {
	url, _ := serve(t)
	h2 := &http.Client{Transport: &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	res, err := h2.Get(url + "/api/h2")
	if err != nil {
		t.Fatal(err)
	}
	var seen Seen
	_ = json.NewDecoder(res.Body).Decode(&seen)
	res.Body.Close()
	if seen.Proto != "HTTP/2.0" {
		t.Fatalf("h2c: %+v", seen)
	}

	ws, err := websocket.Dial(strings.Replace(url, "http", "ws", 1)+"/ws", "", url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Write([]byte("ping over ws")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := ws.Read(buf)
	if err != nil || string(buf[:n]) != "ping over ws" {
		t.Fatalf("websocket echo: %q %v", buf[:n], err)
	}
	ws.Close()

	start := time.Now()
	res, err = http.Get(url + "/slow?delay=300ms")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("slow: %d after %s", res.StatusCode, time.Since(start))
	}
	if res, _ := http.Get(url + "/slow?delay=1h"); res.StatusCode != 400 {
		t.Fatalf("an unbounded delay is refused: %d", res.StatusCode)
	}
}

func TestGRPCHealthAndEcho(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := GRPCServer("orders", slog.New(slog.NewJSONHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: EchoService})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	out := &frame{}
	if err := conn.Invoke(ctx, "/"+EchoService+"/Say", &frame{data: []byte("raw bytes")}, out, grpc.ForceCodec(codec{})); err != nil {
		t.Fatal(err)
	}
	if string(out.data) != "raw bytes" {
		t.Fatalf("echo: %q", out.data)
	}
	if err := conn.Invoke(ctx, "/other.Service/Do", &frame{data: []byte("x")}, out, grpc.ForceCodec(codec{})); err == nil || !strings.Contains(err.Error(), "Unimplemented") {
		t.Fatalf("other services are refused: %v", err)
	}
}
