package tools

import (
	"context"
	"errors"
	"fmt"

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
