// apiproxy-demo-upstream: the local stack's upstream service (services/demoupstream).
//
//	apiproxy-demo-upstream --name orders --http 198.18.3.10:8080 --grpc 198.18.3.10:9090 [--max-slow 60s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"apiproxy.local/services/demoupstream"
)

func main() {
	name := flag.String("name", "demo", "service name reported in every answer")
	httpAddr := flag.String("http", "127.0.0.1:8080", "HTTP/1.1 + h2c address")
	grpcAddr := flag.String("grpc", "127.0.0.1:9090", "gRPC address (health + echo)")
	maxSlow := flag.Duration("max-slow", 60*time.Second, "longest delay /slow accepts")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(*name, *httpAddr, *grpcAddr, *maxSlow, log); err != nil {
		fmt.Fprintf(os.Stderr, "apiproxy-demo-upstream: %v\n", err)
		os.Exit(1)
	}
}

func run(name, httpAddr, grpcAddr string, maxSlow time.Duration, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	grpcListener, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	grpcServer := demoupstream.GRPCServer(name, log)
	httpServer := &http.Server{Addr: httpAddr, Handler: demoupstream.H2C(demoupstream.HTTPHandler(name, maxSlow, log)),
		ReadHeaderTimeout: 5 * time.Second}
	errs := make(chan error, 2)
	go func() { errs <- grpcServer.Serve(grpcListener) }()
	go func() { errs <- httpServer.ListenAndServe() }()
	log.Info("listening", "service", name, "http", httpAddr, "grpc", grpcAddr)
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	grpcServer.GracefulStop()
	return httpServer.Shutdown(shutdown)
}
