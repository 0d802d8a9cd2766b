package tools

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// lineReader reads lines of any length up to max bytes. bufio.Scanner
// stops for good at its first over-long line; here such a line is skipped
// and reported as that line's failure, and reading goes on.
type lineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	n   int64 // number of the last line read, from 1
}

// lineTooLongError is one line over --max-line-bytes.
type lineTooLongError struct{ size, max int }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("line of %d bytes is longer than --max-line-bytes %d", e.size, e.max)
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its "\n" or "\r\n", valid until the
// next call; io.EOF after the last one. A last line without "\n" counts.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	size := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		size += len(chunk)
		if size <= lr.max+2 { // room for "\r\n"
			lr.buf = append(lr.buf, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && size == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		break
	}
	lr.n++
	if size > lr.max+2 {
		return nil, &lineTooLongError{size, lr.max}
	}
	line := bytes.TrimSuffix(lr.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > lr.max {
		return nil, &lineTooLongError{len(line), lr.max}
	}
	return line, nil
}
