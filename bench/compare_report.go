package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// writeComparison prints a compare run as Markdown. Charts are linked
// relative to baseDir (the report's directory); notes are appended.
func writeComparison(w io.Writer, c *Comparison, baseDir, notes string) {
	fmt.Fprintf(w, "# Weir benchmark results\n\n")
	fmt.Fprintf(w, "- Date: %s\n", c.Date.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- Machine: %s\n", c.Machine)
	fmt.Fprintf(w, "- Command: `%s`\n", strings.TrimSpace(c.Command))
	fmt.Fprintf(w, "- Targets: %s (brokers started by the benchmark run as child processes on 127.0.0.1; "+
		"the client is franz-go in the benchmark's process, on the same 2 cores)\n", strings.Join(c.Targets, ", "))
	fmt.Fprintf(w, "- Units: MB = 1e6 bytes of record keys and values before compression (wire = record-batch bytes "+
		"after compression); cpu-s/GB = broker process CPU seconds (user+system, /proc/<pid>/stat) per 1e9 such bytes\n\n")

	if l := c.Limits; l != nil {
		fmt.Fprintf(w, "## Host limits (measured in this run)\n\n")
		fmt.Fprintf(w, "| probe | MB/s |\n|---|---:|\n")
		fmt.Fprintf(w, "| loopback TCP, one stream, 1 MiB writes | %.0f |\n", l.LoopbackTCP)
		fmt.Fprintf(w, "| sequential buffered file write, 1 MiB writes | %.0f |\n", l.FileWrite)
		fmt.Fprintf(w, "| memcpy, 64 MiB | %.0f |\n", l.Memcpy)
		fmt.Fprintf(w, "| CRC-32C, 64 MiB | %.0f |\n\n", l.CRC32C)
	}
	if len(c.Goals) > 0 {
		fmt.Fprintf(w, "## Goals\n\n")
		fmt.Fprintf(w, "Each figure is the median of the run's rounds, all targets measured in the same run by the "+
			"same client in alternation. A ratio (x) divides the first figure of the measured cell by the second.\n\n")
		fmt.Fprintf(w, "| goal | broker | target | measured | value | met |\n|---|---|---|---|---:|---|\n")
		for _, g := range c.Goals {
			measured, value := g.Measured, "-"
			if g.Missing == "" {
				value = fmt.Sprintf("%.2f", g.Ratio)
			} else if measured == "" {
				measured = "-"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", g.Name, g.Target, g.Want, measured, value, g.verdict())
		}
		fmt.Fprintln(w)
	}
	if len(c.Ratios) > 0 {
		fmt.Fprintf(w, "## Host ratios (information)\n\n")
		fmt.Fprintf(w, "Not goals: the client and the brokers share this host's %d cores, so a throughput ratio "+
			"tells how the host split its CPU as much as how fast a broker is.\n\n", c.Machine.Cores)
		fmt.Fprintf(w, "| ratio | broker | measured | value |\n|---|---|---|---:|\n")
		for _, r := range c.Ratios {
			fmt.Fprintf(w, "| %s | %s | %s | %.2f |\n", r.Name, r.Target, r.Measured, r.Ratio)
		}
		fmt.Fprintln(w)
	}
	if len(c.Results) > 0 {
		fmt.Fprintf(w, "## Scenarios\n\n")
		writeResultTable(w, c.Results)
		fmt.Fprintf(w, "\nDelivery checks:\n\n")
		writeDelivery(w, c.Results)
		fmt.Fprintln(w)
	}
	if len(c.cells) > 0 {
		fmt.Fprintf(w, "## Batch size x compression (produce, acks=1, on %s)\n\n", c.Matrix[0].Target)
		fmt.Fprintf(w, "Each cell: MB/s before compression, records/s, and (compression ratio).\n\n")
		writeMatrixTable(w, c.cells, c.codecs)
		fmt.Fprintln(w)
	}
	if len(c.Charts) > 0 {
		fmt.Fprintf(w, "## Charts\n\n")
		for _, ch := range c.Charts {
			rel := ch
			if baseDir != "" {
				if r, err := filepath.Rel(baseDir, ch); err == nil {
					rel = r
				}
			}
			fmt.Fprintf(w, "![%s](%s)\n\n", strings.TrimSuffix(filepath.Base(ch), ".svg"), rel)
		}
	}
	fmt.Fprintf(w, "%s\n", peerHowTo)
	if notes != "" {
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(notes))
	}
}

// peerHowTo is a fixed section of every compare report: how to measure a
// broker that does not ship with Weir beside it.
const peerHowTo = `## Measuring klite, Apache Kafka or another broker beside Weir

Neither ships with Weir. Start the broker yourself on this host, on 127.0.0.1 and a free port, and name it with
` + "`--peer name=host:port`" + `: the run then measures it with the same client, in the same rounds, alternating
with the other targets, and its figures appear in every table above. Give its process id with
` + "`--peer-pid name=pid`" + ` to have its CPU read from /proc (its cpu-s/GB columns); without it they are "-".
The goal "Weir MB/s ÷ klite MB/s" is evaluated only when a peer is named ` + "`klite`" + `.

1. Start the broker as a single node:
   - Apache Kafka 4, from its release archive (it needs Java 17 or later), in KRaft mode:

     ` + "```" + `
     bin/kafka-storage.sh format --standalone -t "$(bin/kafka-storage.sh random-uuid)" -c config/server.properties
     bin/kafka-server-start.sh config/server.properties     # listens on localhost:9092
     ` + "```" + `
   - klite: build and start it as its own documentation says, listening on 127.0.0.1:9092.
2. Run the comparison (` + "`make build`" + ` first), here with Weir's two backends and no kfake:

   ` + "```" + `
   bin/weir bench compare --rounds 3 --duration 5s --kfake=false --peer klite=127.0.0.1:9092 --peer-pid klite=PID \
       --markdown /tmp/klite/RESULTS.md --json /tmp/klite/results.json
   bin/weir bench compare --rounds 3 --duration 5s --kfake=false --peer kafka=127.0.0.1:9092 --warmup 5s \
       --peer-pid kafka="$(pgrep -f kafka.Kafka)" --markdown /tmp/kafka/RESULTS.md --json /tmp/kafka/results.json
   ` + "```" + `

   A JVM broker needs a longer ` + "`--warmup`" + ` (its JIT compiles the hot paths first). Keep the peer's log
   directory on the same file system as the run's ` + "`--data-dir`" + `, and nothing else busy on the host: the
   peer, the Weir brokers and the client share its cores, and an idle broker still takes some of them.
`

// writeCompareCharts draws the e2e latency curves (median run per target)
// and the matrix charts into dir.
func writeCompareCharts(dir string, c *Comparison) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var curves, fixedCurves, produceCurves []latencyCurve
	for _, t := range c.Targets {
		for _, sc := range []string{scE2E, scE2ELow} {
			if r := c.median(sc, t); r != nil {
				curves = append(curves, latencyCurve{name: fmt.Sprintf("%s (%s rec/s)", t, count(r.TargetRate)), lat: r.E2E})
			}
		}
		if r := c.median(scE2E20K, t); r != nil {
			fixedCurves = append(fixedCurves, latencyCurve{name: t, lat: r.E2E})
		}
		if r := c.median(scProduce1K, t); r != nil {
			produceCurves = append(produceCurves, latencyCurve{name: t, lat: r.Latency})
		}
	}
	if len(curves) > 0 {
		path := chartName(dir, "latency-e2e")
		if err := latencyChart(path, "end-to-end latency, 1 KiB records at 50% and 10% of max rate, acks=1", curves); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	if len(fixedCurves) > 0 {
		path := chartName(dir, "latency-e2e-20k")
		if err := latencyChart(path, "end-to-end latency, 1 KiB records at 20,000 rec/s, acks=all idempotent, linger 1 ms",
			fixedCurves); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	if len(produceCurves) > 0 {
		path := chartName(dir, "latency-produce-max-rate")
		if err := latencyChart(path, "produce latency at max rate (queueing included), 1 KiB records, acks=1", produceCurves); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	if len(c.cells) > 0 {
		mf, err := matrixCharts(dir, c.cells, c.Matrix[0].Target)
		files = append(files, mf...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// restoreCells rebuilds a comparison's matrix grid from its JSON form.
func (c *Comparison) restoreCells() {
	c.cells, c.codecs = nil, nil
	seen := map[string]bool{}
	for _, r := range c.Matrix {
		if r.Cell == nil {
			continue
		}
		c.cells = append(c.cells, matrixCell{recordSize: r.Cell.RecordSize, payload: r.Cell.Payload,
			batch: r.Cell.Batch, codec: r.Cell.Codec, result: r})
		if !seen[r.Cell.Codec] {
			seen[r.Cell.Codec] = true
			c.codecs = append(c.codecs, r.Cell.Codec)
		}
	}
}

const reportExamples = `  weir bench report --json bench/results.json --markdown bench/RESULTS.md --notes bench/FINDINGS.md
  weir bench report --json bench/results.json --json-out bench/results.json --markdown bench/RESULTS.md
`

// reportCmd renders a saved compare run (its --json file) again: after
// editing the notes, or to draw the charts elsewhere.
func reportCmd(args []string, stdout io.Writer) error {
	var jsonIn, jsonOut, markdown, chartDir, notes string
	fs := flagSet("report", "Render a saved compare run (weir bench compare --json FILE) as Markdown and charts again.",
		reportExamples, stdout)
	fs.StringVar(&jsonIn, "json", "", "the compare run's JSON file (required)")
	fs.StringVar(&markdown, "markdown", "", "write the report here (default: stdout)")
	fs.StringVar(&chartDir, "chart-dir", "", "draw the charts here (default: charts/ next to --markdown)")
	fs.StringVar(&notes, "notes", "", "a Markdown file appended to the report")
	fs.StringVar(&jsonOut, "json-out", "", "write the run again with its goals evaluated by this build (may be the --json file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if jsonIn == "" {
		return usagef("--json is required")
	}
	data, err := os.ReadFile(jsonIn)
	if err != nil {
		return err
	}
	var c Comparison
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("%s: %w", jsonIn, err)
	}
	c.restoreCells()
	c.Goals, c.Ratios = evaluateGoals(&c), hostRatios(&c)
	noteText := ""
	if notes != "" {
		b, err := os.ReadFile(notes)
		if err != nil {
			return err
		}
		noteText = string(b)
	}
	if chartDir == "" && markdown != "" {
		chartDir = filepath.Join(filepath.Dir(markdown), "charts")
	}
	if chartDir != "" {
		files, err := writeCompareCharts(chartDir, &c)
		if err != nil {
			return err
		}
		c.Charts = files
	}
	if jsonOut != "" {
		if err := writeFile(jsonOut, func(w io.Writer) error { return writeJSON(w, &c) }); err != nil {
			return err
		}
	}
	if markdown == "" {
		writeComparison(stdout, &c, "", noteText)
		return nil
	}
	return writeFile(markdown, func(w io.Writer) error {
		writeComparison(w, &c, filepath.Dir(markdown), noteText)
		return nil
	})
}
