// apiproxy-demo-upstream: the local stack's upstream service (services/demoupstream).
//
//	apiproxy-demo-upstream --name orders [--http 198.18.4.10:8080] [--grpc 198.18.4.10:9090] [--max-slow 60s]
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
	httpAddr := flag.String("http", "", "HTTP/1.1 + h2c address (empty: no HTTP)")
	grpcAddr := flag.String("grpc", "", "gRPC address, health + echo (empty: no gRPC)")
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
	if httpAddr == "" && grpcAddr == "" {
		return errors.New("nothing to serve: give --http and/or --grpc")
	}
	errs := make(chan error, 2)
	grpcServer := demoupstream.GRPCServer(name, log)
	if grpcAddr != "" {
		grpcListener, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			return err
		}
		go func() { errs <- grpcServer.Serve(grpcListener) }()
	}
	httpServer := &http.Server{Addr: httpAddr, Handler: demoupstream.H2C(demoupstream.HTTPHandler(name, maxSlow, log)),
		ReadHeaderTimeout: 5 * time.Second}
	if httpAddr != "" {
		go func() { errs <- httpServer.ListenAndServe() }()
	}
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
