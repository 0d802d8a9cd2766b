package bench

import (
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
		fmt.Fprintf(w, "## Goals\n\n| goal | target | measured | ratio | want | met |\n|---|---|---|---:|---|---|\n")
		for _, g := range c.Goals {
			met := "no"
			if g.Met {
				met = "yes"
			}
			if g.Missing != "" {
				met = "? " + g.Missing
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %s | %s |\n", g.Name, g.Target, g.Measured, g.Ratio, g.Want, met)
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
	if notes != "" {
		fmt.Fprintf(w, "%s\n", strings.TrimSpace(notes))
	}
}

// writeCompareCharts draws the e2e latency curves (median run per target)
// and the matrix charts into dir.
func writeCompareCharts(dir string, c *Comparison) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var curves, produceCurves []latencyCurve
	for _, t := range c.Targets {
		if r := c.median(scE2E, t); r != nil {
			curves = append(curves, latencyCurve{name: fmt.Sprintf("%s (%s rec/s)", t, count(r.TargetRate)), lat: r.E2E})
		}
		if r := c.median(scProduce1K, t); r != nil {
			produceCurves = append(produceCurves, latencyCurve{name: t, lat: r.Latency})
		}
	}
	if len(curves) > 0 {
		path := chartName(dir, "latency-e2e")
		if err := latencyChart(path, "end-to-end latency, 1 KiB records at 50% of max rate, acks=1", curves); err != nil {
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
