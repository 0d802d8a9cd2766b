package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// MatrixSpec is the batch size x compression grid, for each record size
// and payload kind.
type MatrixSpec struct {
	Base        ProduceSpec // topic, partitions, acks, linger, producers, duration
	Batches     []int
	Codecs      []string
	RecordSizes []int
	Payloads    []string
}

// matrixCell is one produce run of the grid.
type matrixCell struct {
	recordSize int
	payload    string
	batch      int
	codec      string
	result     *Result
}

// Matrix runs every cell against t, one produce run each on a fresh topic,
// and deletes the topic at the end.
func Matrix(ctx context.Context, t Target, m MatrixSpec, p *progress) ([]matrixCell, error) {
	var cells []matrixCell
	for _, rs := range m.RecordSizes {
		for _, pl := range m.Payloads {
			for _, b := range m.Batches {
				for _, c := range m.Codecs {
					cells = append(cells, matrixCell{recordSize: rs, payload: pl, batch: b, codec: c})
				}
			}
		}
	}
	defer deleteTopic(context.Background(), t, m.Base.Topic)
	for i := range cells {
		c := &cells[i]
		s := m.Base
		s.RecordSize, s.Payload, s.BatchMaxBytes, s.Compression = c.recordSize, c.payload, c.batch, c.codec
		s.Recreate = true
		s.MaxBuffered = defaultMaxBuffered(c.recordSize)
		res, err := Produce(ctx, t, s, p.titled(fmt.Sprintf("%d/%d %s", i+1, len(cells), s.Label())))
		if err != nil {
			return cells, fmt.Errorf("matrix cell %s: %w", s.Label(), err)
		}
		res.Scenario = "matrix"
		res.Cell = &Cell{RecordSize: c.recordSize, Payload: c.payload, Batch: c.batch, Codec: c.codec}
		c.result = res
	}
	return cells, nil
}

// writeMatrixTable prints one row per record size, payload and batch size,
// one column per codec: MB/s before compression, and in brackets the
// compression ratio (bytes before / after).
func writeMatrixTable(w io.Writer, cells []matrixCell, codecs []string) {
	fmt.Fprintf(w, "| record | payload | batch | %s |\n", strings.Join(codecs, " | "))
	fmt.Fprintf(w, "|---|---|---|%s\n", strings.Repeat("---:|", len(codecs)))
	type rowKey struct {
		rs    int
		pl    string
		batch int
	}
	var order []rowKey
	rows := map[rowKey]map[string]*Result{}
	for _, c := range cells {
		k := rowKey{c.recordSize, c.payload, c.batch}
		if rows[k] == nil {
			rows[k] = map[string]*Result{}
			order = append(order, k)
		}
		rows[k][c.codec] = c.result
	}
	for _, k := range order {
		fmt.Fprintf(w, "| %s | %s | %s |", size(k.rs), k.pl, size(k.batch))
		for _, codec := range codecs {
			r := rows[k][codec]
			if r == nil {
				fmt.Fprint(w, " - |")
				continue
			}
			ratio := 0.0
			if r.WireBytes > 0 {
				ratio = float64(r.Bytes) / float64(r.WireBytes)
			}
			fmt.Fprintf(w, " %.0f MB/s, %s rec/s (%.1fx) |", r.MBPerSec, count(r.RecordsPerSec), ratio)
		}
		fmt.Fprintln(w)
	}
}

// matrixCharts draws one throughput chart per record size and payload;
// it returns the files written.
func matrixCharts(dir string, cells []matrixCell, target string) ([]string, error) {
	groups := map[string][]matrixCell{}
	var names []string
	for _, c := range cells {
		name := fmt.Sprintf("matrix-%s-%s", size(c.recordSize), c.payload)
		if _, ok := groups[name]; !ok {
			names = append(names, name)
		}
		groups[name] = append(groups[name], c)
	}
	var files []string
	for _, name := range names {
		g := groups[name]
		path := chartName(dir, name)
		title := fmt.Sprintf("%s: produce throughput, %s %s records, by batch size and codec", target,
			size(g[0].recordSize), g[0].payload)
		if err := throughputChart(path, title, g); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

// matrixFlags fill a MatrixSpec.
type matrixFlags struct {
	base                                   produceFlags
	batches, codecs, recordSizes, payloads string
}

func (m *matrixFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&m.batches, "batch-sizes", "16KiB,128KiB,1MiB", "batch.max.bytes values")
	fs.StringVar(&m.codecs, "codecs", "none,gzip,snappy,lz4,zstd", "compression codecs")
	fs.StringVar(&m.recordSizes, "record-sizes", "100,1KiB", "value sizes")
	fs.StringVar(&m.payloads, "payloads", "json,random", "payload kinds (json, random)")
}

func (m *matrixFlags) spec() (MatrixSpec, error) {
	var s MatrixSpec
	var err error
	if s.Batches, err = sizeList(m.batches); err != nil {
		return s, usagef("--batch-sizes: %v", err)
	}
	if s.RecordSizes, err = sizeList(m.recordSizes); err != nil {
		return s, usagef("--record-sizes: %v", err)
	}
	s.Codecs = strings.Split(m.codecs, ",")
	for _, c := range s.Codecs {
		if _, err := codec(c, 0); err != nil {
			return s, usageErr{err}
		}
	}
	s.Payloads = strings.Split(m.payloads, ",")
	for _, p := range s.Payloads {
		if p != "json" && p != "random" {
			return s, usagef("--payloads: %q is not json or random", p)
		}
	}
	if err := m.base.finish(); err != nil {
		return s, err
	}
	s.Base = m.base.spec
	return s, nil
}

const matrixExamples = `  weir bench matrix --duration 3s
  weir bench matrix --batch-sizes 64KiB,1MiB --codecs none,zstd --record-sizes 1KiB --payloads json --chart-dir /tmp/charts
`

func matrixCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var t targetFlags
	var m matrixFlags
	var o outputFlags
	var chartDir string
	fs := flagSet("matrix", "Produce throughput over the grid of batch sizes x codecs x record sizes x payloads, "+
		"one run per cell on a fresh topic, printed as one table (MB/s before compression, records/s, compression ratio).",
		matrixExamples, stdout)
	t.register(fs)
	m.base.register(fs)
	fs.Lookup("duration").DefValue = "3s"
	m.base.spec.Duration = 3 * time.Second
	fs.Lookup("topic").DefValue = "weir-bench-matrix"
	m.base.spec.Topic = "weir-bench-matrix"
	m.register(fs)
	fs.StringVar(&chartDir, "chart-dir", "", "write SVG charts (throughput by batch size per codec) here")
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	spec, err := m.spec()
	if err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	var cells []matrixCell
	err = t.profiled(func() error {
		cells, err = Matrix(ctx, t.target(), spec, newProgress(stderr))
		return err
	})
	if o.format == "json" {
		var rs []*Result
		for _, c := range cells {
			if c.result != nil {
				rs = append(rs, c.result)
			}
		}
		writeJSON(stdout, rs)
	} else {
		writeMatrixTable(stdout, cells, spec.Codecs)
	}
	if err != nil {
		return err
	}
	if chartDir != "" {
		if err := os.MkdirAll(chartDir, 0o755); err != nil {
			return err
		}
		files, err := matrixCharts(chartDir, cells, t.target().Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "charts: %s\n", strings.Join(files, ", "))
	}
	return nil
}
