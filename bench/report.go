package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// writeResultTable prints results as one Markdown table (readable as is
// on a terminal).
func writeResultTable(w io.Writer, results []*Result) {
	fmt.Fprintln(w, "| scenario | target | workload | records/s | MB/s | wire MB/s | latency p50 / p99 / p99.9 / max (ms) | broker cpu-s/GB | client cpu-s |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---|---:|---:|")
	for _, r := range results {
		lat := r.Latency
		if r.E2E != nil {
			lat = r.E2E
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1f | %.1f | %s | %s | %.1f |\n", r.Scenario, r.Target, r.Label,
			count(r.RecordsPerSec), r.MBPerSec, r.WireMBPerSec, latencyCell(lat, r.E2E != nil), cpuCell(r.BrokerCPUPerGB),
			r.ClientCPU)
	}
}

func latencyCell(l *Latency, e2e bool) string {
	if l == nil {
		return "-"
	}
	s := fmt.Sprintf("%s / %s / %s / %s", ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max))
	if e2e {
		s += " (e2e)"
	}
	return s
}

func cpuCell(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// ms prints a latency with the precision it deserves.
func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// count prints a rate with thousands separators.
func count(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// writeDelivery prints each result's delivery check and errors.
func writeDelivery(w io.Writer, results []*Result) {
	for _, r := range results {
		switch {
		case r.Errors > 0:
			fmt.Fprintf(w, "- %s %s on %s: %d errors, first: %s\n", r.Scenario, r.Label, r.Target, r.Errors, r.FirstErr)
		case r.Verified != "":
			fmt.Fprintf(w, "- %s %s on %s: %s\n", r.Scenario, r.Label, r.Target, r.Verified)
		}
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
