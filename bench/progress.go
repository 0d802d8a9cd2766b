package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a live bar with the current rate on a terminal while a
// run goes. A nil *progress draws nothing (tests, redirected output).
type progress struct {
	w     io.Writer
	title string
	stopc chan struct{}
	done  chan struct{}
}

// newProgress returns a progress bar on w when w is a terminal, else nil.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progress{w: w}
}

// titled sets what the next bar is about.
func (p *progress) titled(title string) *progress {
	if p != nil {
		p.title = title
	}
	return p
}

// start draws until stop: the fraction done of the duration (or of total
// records when total > 0), records/s and MB/s over the last interval.
func (p *progress) start(d time.Duration, total int64, records, bytes *atomic.Int64) {
	if p == nil {
		return
	}
	p.stopc, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		began := time.Now()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		lastT, lastR, lastB := began, int64(0), int64(0)
		for {
			select {
			case <-p.stopc:
				fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
				return
			case now := <-tick.C:
				r, b := records.Load(), bytes.Load()
				dt := now.Sub(lastT).Seconds()
				frac := now.Sub(began).Seconds() / d.Seconds()
				if total > 0 {
					frac = float64(r) / float64(total)
				}
				fmt.Fprintf(p.w, "\r%-28.28s %s %10.0f rec/s %8.1f MB/s", p.title, bar(frac, 24),
					float64(r-lastR)/dt, float64(b-lastB)/dt/1e6)
				lastT, lastR, lastB = now, r, b
			}
		}
	}()
}

func (p *progress) stop() {
	if p == nil || p.stopc == nil {
		return
	}
	close(p.stopc)
	<-p.done
	p.stopc = nil
}

// bar draws frac (0..1) as [=====>    ].
func bar(frac float64, width int) string {
	frac = min(max(frac, 0), 1)
	n := int(frac * float64(width))
	s := strings.Repeat("=", n)
	if n < width {
		s += ">" + strings.Repeat(" ", width-n-1)
	}
	return "[" + s + "]"
}
