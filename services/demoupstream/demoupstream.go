// Package demoupstream is the local stack's upstream service: what app teams' services are in
// production, reduced to what the proxy tier must carry and the tests must observe. One HTTP
// port (HTTP/1.1 and h2c) answers a JSON description of the request it received (never the
// body itself), a WebSocket echo on any upgraded path and a deliberately slow route on any
// path ending in /slow (for 504
// drills); one gRPC port serves grpc.health.v1 and an echo of any method under
// apiproxy.demo.Echo. Every request is logged as one JSON line: the upstream's own record of
// what reached it, which the tests read to prove what did not.
package demoupstream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Bounds on what one request may cost the service.
const (
	MaxBodyBytes   = 16 << 20
	MaxWebSocketMB = 1
)

// EchoService is the gRPC service whose every method echoes its request message.
const EchoService = "apiproxy.demo.Echo"

// Seen is what the service reports (and logs) about one request.
type Seen struct {
	Service    string            `json:"service"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Query      string            `json:"query,omitempty"`
	Proto      string            `json:"proto"`
	Headers    map[string]string `json:"headers"`
	BodyBytes  int               `json:"bodyBytes"`
	BodySHA256 string            `json:"bodySha256,omitempty"`
}

// reportedHeaders: what the proxy tier sets or must strip, so tests can see both.
var reportedHeaders = []string{"X-Request-Id", "X-Api-Key-Id", "X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Proto",
	"Content-Type", "User-Agent", "X-Api-Key", "Authorization", "X-Client-Cert-Subject", "X-Apiproxy-Client", "X-Apiproxy-Subject"}

// HTTPHandler serves the HTTP port (wrap with h2c for HTTP/2 without TLS).
func HTTPHandler(name string, maxSlow time.Duration, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	// A WebSocket upgrade on any path echoes: the proxy tier publishes it under its own prefix.
	ws := websocket.Server{Handler: func(c *websocket.Conn) {
		c.MaxPayloadBytes = MaxWebSocketMB << 20
		log.Info("request", "service", name, "method", "GET", "path", c.Request().URL.Path, "proto", "websocket")
		_, _ = io.Copy(c, c)
	}}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		seen := describe(name, r)
		// Any path ending in /slow: the proxy tier publishes it under its own prefix.
		if r.URL.Path == "/slow" || strings.HasSuffix(r.URL.Path, "/slow") {
			delay, _ := time.ParseDuration(r.URL.Query().Get("delay"))
			if delay <= 0 || delay > maxSlow {
				http.Error(w, fmt.Sprintf(`{"error":"delay must be a duration up to %s"}`, maxSlow), http.StatusBadRequest)
				return
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				log.Info("request", "service", name, "path", r.URL.Path, "cancelled", true)
				return
			}
		}
		log.Info("request", "service", name, "seen", seen)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen)
	})
	return mux
}

func describe(name string, r *http.Request) Seen {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes))
	seen := Seen{Service: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Proto: r.Proto,
		Headers: map[string]string{}, BodyBytes: len(body)}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		seen.BodySHA256 = hex.EncodeToString(sum[:])
	}
	for _, h := range reportedHeaders {
		if v := r.Header.Get(h); v != "" {
			seen.Headers[h] = v
		}
	}
	return seen
}

// H2C serves HTTP/1.1 and HTTP/2 with prior knowledge on one cleartext port.
func H2C(h http.Handler) http.Handler { return h2c.NewHandler(h, &http2.Server{}) }

// frame is a gRPC message kept as raw bytes (the echo needs no schema).
type frame struct{ data []byte }

// codec passes frames through untouched and protobuf messages (health) through proto.
type codec struct{}

func (codec) Name() string { return "proto" }
func (codec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(*frame); ok {
		return f.data, nil
	}
	return proto.Marshal(v.(proto.Message))
}
func (codec) Unmarshal(data []byte, v any) error {
	if f, ok := v.(*frame); ok {
		f.data = append([]byte(nil), data...)
		return nil
	}
	return proto.Unmarshal(data, v.(proto.Message))
}

var _ encoding.Codec = codec{}

// GRPCServer serves grpc.health.v1 and the echo service.
func GRPCServer(name string, log *slog.Logger) *grpc.Server {
	srv := grpc.NewServer(grpc.ForceServerCodec(codec{}), grpc.MaxRecvMsgSize(4<<20),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			if !strings.HasPrefix(method, "/"+EchoService+"/") {
				return status.Errorf(codes.Unimplemented, "unknown method %s", method)
			}
			for {
				var in frame
				if err := stream.RecvMsg(&in); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				log.Info("request", "service", name, "proto", "grpc", "method", method, "bodyBytes", strconv.Itoa(len(in.data)))
				if err := stream.SendMsg(&in); err != nil {
					return err
				}
			}
		}))
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(EchoService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	return srv
}
