// Package resp is a minimal Redis client (RESP2) for the key-check service: commands as
// arrays of bulk strings, the reply types Redis sends for them, a small connection pool.
// No dependency: the service ships as one static binary to air-gapped hosts.
package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrNil is a nil bulk reply (a missing key or field).
var ErrNil = errors.New("resp: nil")

// Client is a pool of connections to one Redis server.
type Client struct {
	network, addr, password string
	timeout                 time.Duration
	pool                    chan *conn
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

// New returns a client for addr ("host:port", or a path for a unix socket) with up to size idle connections.
func New(addr, password string, size int, timeout time.Duration) *Client {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	return &Client{network: network, addr: addr, password: password, timeout: timeout, pool: make(chan *conn, size)}
}

func (c *Client) get() (*conn, error) {
	select {
	case cn := <-c.pool:
		return cn, nil
	default:
	}
	nc, err := net.DialTimeout(c.network, c.addr, c.timeout)
	if err != nil {
		return nil, err
	}
	cn := &conn{c: nc, r: bufio.NewReader(nc)}
	if c.password != "" {
		if _, err := cn.do(c.timeout, "AUTH", c.password); err != nil {
			nc.Close()
			return nil, fmt.Errorf("redis AUTH: %w", err)
		}
	}
	return cn, nil
}

func (c *Client) put(cn *conn) {
	select {
	case c.pool <- cn:
	default:
		cn.c.Close()
	}
}

// Do runs one command and returns its reply: string, int64, []any, or ErrNil / a server error.
func (c *Client) Do(args ...string) (any, error) {
	cn, err := c.get()
	if err != nil {
		return nil, err
	}
	reply, err := cn.do(c.timeout, args...)
	var serverErr ServerError
	if err != nil && !errors.Is(err, ErrNil) && !errors.As(err, &serverErr) {
		cn.c.Close() // a broken connection is not returned to the pool
		return nil, err
	}
	c.put(cn)
	return reply, err
}

// Close closes the idle connections.
func (c *Client) Close() {
	for {
		select {
		case cn := <-c.pool:
			cn.c.Close()
		default:
			return
		}
	}
}

// ServerError is an error reply from Redis.
type ServerError string

func (e ServerError) Error() string { return "redis: " + string(e) }

func (cn *conn) do(timeout time.Duration, args ...string) (any, error) {
	if err := cn.c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(cn.c, b.String()); err != nil {
		return nil, err
	}
	return read(cn.r)
}

func read(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("resp: malformed reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, ServerError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, ErrNil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, ErrNil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = read(r); err != nil && !errors.Is(err, ErrNil) {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line[0])
}
