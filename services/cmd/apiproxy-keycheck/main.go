// apiproxy-keycheck: the API-key check service (services/keycheck).
//
//	apiproxy-keycheck serve --listen ADDR --redis ADDR|SOCKET --pepper-file FILE --rate-per-second N --burst N [--policy-file FILE]
//	apiproxy-keycheck provision --redis ADDR|SOCKET --pepper-file FILE < keys.json
//
// serve answers GET /check (the API key), GET /auth/{route} (the route's policy: API key, HMAC
// request signature, bearer JWT) and GET /healthz. --policy-file is the JSON policy of
// /auth/{route} (keycheck.ParsePolicy: signature keys, JWT issuers and their public keys,
// routes); any problem in it stops the start with every problem named by its JSON path. Without
// it /auth/{route} answers 500 ("no policy"), which nginx fails closed. The file is read at
// start and again on SIGHUP: a valid new file replaces the policy atomically, a broken one is
// logged and the policy in force stays.
//
// The Redis password, if any, comes from the environment (REDIS_PASSWORD), never a flag.
// --rate-per-second and --burst are the per-API-key limit (the stack's rateLimitPerApiKey, in
// nginx's terms: burst = requests admitted at once beyond the steady rate); serve requires them,
// so the limit has one source, the stack config, and no default of its own here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"apiproxy.local/services/internal/resp"
	"apiproxy.local/services/keycheck"
)

// Bounds: a check is one Redis lookup; nginx gives the service 2 s (API_KEY_SERVICE_READ_TIMEOUT_SECONDS).
const (
	redisTimeout   = 500 * time.Millisecond
	redisPoolSize  = 64
	minPepperBytes = 32
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "apiproxy-keycheck: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: apiproxy-keycheck serve|provision [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve /check on")
	redisAddr := fs.String("redis", "/run/redis/redis-server.sock", "Redis host:port or unix socket")
	pepperFile := fs.String("pepper-file", "/etc/apiproxy-keycheck/pepper", "secret HMAC key for stored digests (>= 32 bytes)")
	ratePerSecond := fs.String("rate-per-second", "", "serve: requests per second each API key may make (positive integer, required)")
	burst := fs.String("burst", "", "serve: requests a key may make at once beyond the steady rate (integer >= 0, required)")
	policyFile := fs.String("policy-file", "", "serve: JSON policy of /auth/{route} (signature keys, JWT issuers, routes); reloaded on SIGHUP")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var rate, burstSize int
	var policy *keycheck.Policy
	if args[0] == "serve" {
		var err error
		if rate, err = intFlag("rate-per-second", *ratePerSecond, 1); err != nil {
			return err
		}
		if burstSize, err = intFlag("burst", *burst, 0); err != nil {
			return err
		}
		if *policyFile != "" {
			if policy, err = keycheck.LoadPolicyFile(*policyFile); err != nil {
				return fmt.Errorf("--policy-file: %w", err)
			}
		}
	} else if *policyFile != "" {
		return errors.New("--policy-file is a serve flag")
	}
	pepper, err := os.ReadFile(*pepperFile)
	if err != nil {
		return fmt.Errorf("--pepper-file: %w", err)
	}
	if p := strings.TrimSpace(string(pepper)); len(p) < minPepperBytes {
		return fmt.Errorf("--pepper-file %s: needs at least %d bytes", *pepperFile, minPepperBytes)
	} else {
		pepper = []byte(p)
	}
	redis := resp.New(*redisAddr, os.Getenv("REDIS_PASSWORD"), redisPoolSize, redisTimeout)
	defer redis.Close()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	switch args[0] {
	case "provision":
		doc, err := keycheck.ParseKeys(os.Stdin)
		if err != nil {
			return err
		}
		if err := keycheck.Provision(redis, pepper, doc); err != nil {
			return err
		}
		fmt.Printf("provisioned %d keys\n", len(doc.Keys))
		return nil
	case "serve":
		limiter, err := keycheck.NewLimiter(redis, rate, burstSize)
		if err != nil {
			return err
		}
		svc := &keycheck.Service{Redis: redis, Pepper: pepper, Limiter: limiter, Log: log}
		svc.SetPolicy(policy)
		srv := &http.Server{
			Addr: *listen, Handler: svc.Handler(),
			ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
			MaxHeaderBytes: 16 << 10,
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if *policyFile != "" {
			logPolicy(log, "policy loaded", *policyFile, policy)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-hup:
						reloadPolicy(svc, *policyFile, log)
					case <-ctx.Done():
						return
					}
				}
			}()
		}
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
		log.Info("listening", "address", *listen, "redis", *redisAddr, "rate_per_second", rate, "burst", burstSize)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (serve, provision)", args[0])
}

// reloadPolicy reads the policy file again (SIGHUP): a valid file replaces the policy in one
// step, a broken one is logged and the policy in force stays.
func reloadPolicy(svc *keycheck.Service, path string, log *slog.Logger) {
	policy, err := keycheck.LoadPolicyFile(path)
	if err != nil {
		log.Error("policy reload refused; the previous policy stays in force", "file", path, "error", err.Error())
		return
	}
	svc.SetPolicy(policy)
	logPolicy(log, "policy reloaded", path, policy)
}

func logPolicy(log *slog.Logger, msg, path string, p *keycheck.Policy) {
	log.Info(msg, "file", path, "routes", len(p.Routes), "signature_keys", len(p.SignatureKeys), "issuers", len(p.Issuers),
		"max_skew_seconds", int(p.MaxSkew.Seconds()))
}

// intFlag parses a required integer flag of at least minimum; the error names the flag.
func intFlag(name, value string, minimum int) (int, error) {
	want := "a positive integer"
	if minimum == 0 {
		want = "an integer >= 0"
	}
	if value == "" {
		return 0, fmt.Errorf("--%s is required: %s", name, want)
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < minimum {
		return 0, fmt.Errorf("--%s must be %s, got %q", name, want, value)
	}
	return n, nil
}
