package tools

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consumer prints polled records until it is told to stop, and in a group
// commits exactly the records it printed.
type consumer struct {
	cl             *kgo.Client
	out            recordWriter
	group          bool
	max            int           // stop after printing this many; 0: no limit
	idle           time.Duration // stop after no record for this long; 0: never
	requestTimeout time.Duration
	printed        int
}

// run consumes until --max-messages, --timeout, SIGINT or SIGTERM, then
// commits and leaves the group. Stopping by signal is a clean exit.
func (c *consumer) run(io IO) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := bufio.NewWriterSize(io.Out, 64<<10)
	err := c.loop(ctx, w, io.Err)
	stop() // from here a second Ctrl-C kills at once
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := c.finish(); err == nil {
		err = cerr
	}
	return err
}

func (c *consumer) loop(ctx context.Context, w *bufio.Writer, warn io.Writer) error {
	for c.max == 0 || c.printed < c.max {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if c.idle > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, c.idle)
		}
		fs := c.cl.PollRecords(pollCtx, c.max-c.printed) // 0: all buffered
		cancel()
		if err := c.print(w, fs.Records()); err != nil {
			return err
		}
		if err := fetchError(fs, warn); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil // signalled
		}
		if fs.NumRecords() == 0 && errors.Is(pollCtx.Err(), context.DeadlineExceeded) {
			return nil // idle for --timeout
		}
	}
	return nil
}

// print writes the records and, once they are on stdout, marks them for
// the group's commit: a record is committed only after it was printed.
func (c *consumer) print(w *bufio.Writer, recs []*kgo.Record) error {
	for _, r := range recs {
		if err := c.out.write(w, r); err != nil {
			return err
		}
		c.printed++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if c.group {
		c.cl.MarkCommitRecords(recs...)
	}
	return nil
}

// fetchError is the first error in a poll worth stopping for. Context
// errors are how a poll ends; data loss is a warning franz-go recovers from.
func fetchError(fs kgo.Fetches, warn io.Writer) error {
	for _, fe := range fs.Errors() {
		var loss *kgo.ErrDataLoss
		switch {
		case errors.Is(fe.Err, context.Canceled), errors.Is(fe.Err, context.DeadlineExceeded):
			continue
		case errors.As(fe.Err, &loss):
			fmt.Fprintf(warn, "weir consume: warning: %v\n", fe.Err)
			continue
		case fe.Partition < 0:
			return fmt.Errorf("%s: %w", fe.Topic, fe.Err)
		}
		return fmt.Errorf("%s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
	}
	return nil
}

// finish commits the printed records and leaves the group, bounded by
// --request-timeout; without a group there is nothing to do.
func (c *consumer) finish() error {
	if !c.group {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.requestTimeout)
	defer cancel()
	if err := c.cl.CommitMarkedOffsets(ctx); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	if err := c.cl.LeaveGroupContext(ctx); err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	return nil
}
