package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// session is one admin command's connection: a client, its kadm wrapper
// and a context bounded by --request-timeout.
type session struct {
	cl     *kgo.Client
	adm    *kadm.Client
	ctx    context.Context
	cancel context.CancelFunc
}

// open connects to the cluster. Admin requests (CreateTopics, ...) carry
// the same timeout as the whole command, so the broker gives up when we do.
func (c *conn) open() (*session, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(c.timeout.Milliseconds()))
	ctx, cancel := c.context()
	return &session{cl: cl, adm: adm, ctx: ctx, cancel: cancel}, nil
}

func (s *session) close() {
	s.cancel()
	s.cl.Close()
}

// brokerError joins a Kafka error code with the broker's own message,
// which usually says more than the code's generic description.
func brokerError(err error, msg string) string {
	var ke *kerr.Error
	if msg != "" && errors.As(err, &ke) {
		return fmt.Sprintf("%s: %s", ke.Message, msg)
	}
	return err.Error()
}

// admin is what every admin command (topic, group, config) shares: its
// flag set, --output and the connection flags. A command registers its
// own flags on fs, then calls parse, checks its arguments and calls open.
type admin struct {
	c   command
	io  IO
	fs  *pflag.FlagSet
	out output
	cn  conn
}

func newAdmin(c command, io IO) *admin {
	return &admin{c: c, io: io, fs: newFlags(c, io)}
}

// parse adds --output and the connection flags after the command's own,
// so --help lists them last, and parses args as parseFlags does.
func (a *admin) parse(args []string) (code int, done bool) {
	a.out.register(a.fs)
	a.cn.register(a.fs)
	return parseFlags(a.fs, a.c, args, a.io)
}

// open checks --output and connects. On a nil session the command must
// return code: 2 for a bad --output, 1 when no client could be made.
func (a *admin) open() (*session, int) {
	if err := a.out.check(); err != nil {
		return nil, usageError(a.c, a.io, "%v", err)
	}
	s, err := a.cn.open()
	if err != nil {
		return nil, failure(a.c, a.io, "%v", err)
	}
	return s, exitOK
}

// printResults makes one result per name and prints them: each problem
// on stderr as "<kind> <name>: <problem>", then every result as JSON or,
// for people, through text. The exit code is 1 if any had a problem.
func printResults[T any](a *admin, kind string, names []string, result func(name string) (T, string),
	text func(T)) int {
	code := exitOK
	var results []T
	for _, name := range names {
		r, problem := result(name)
		if problem != "" {
			code = failure(a.c, a.io, "%s %s: %s", kind, name, problem)
		}
		results = append(results, r)
	}
	if a.out.json() {
		writeJSON(a.io.Out, results)
		return code
	}
	for _, r := range results {
		text(r)
	}
	return code
}
