package tools

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

var dumpLogCmd = command{
	name:  "dump-log",
	usage: "weir dump-log --files X.log[,Y.index,Z.timeindex,P.snapshot,S.checkpoint] [flags]",
	summary: "Print segment and index files as they are on disk; no broker needed.\n\n" +
		"A .log prints one line per batch (offsets, position, size, magic, codec, CRC and whether it is\n" +
		"valid, producer, leader epoch, flags); --deep-iteration adds one line per record and\n" +
		"--print-data-log its key, headers and payload (decompressed; text that would not print is\n" +
		"Go-quoted). A torn or corrupt tail is reported with its position; zeros after the last batch\n" +
		"are a preallocated segment's unwritten space. An .index or .timeindex prints its entries and\n" +
		"checks each against the .log of the same name, as Kafka's DumpLogSegments does (\"Index\n" +
		"mismatch\"); zeros after the last entry are preallocated space, not entries. A producer\n" +
		"snapshot (<offset>.snapshot) prints each idempotent producer's state and newest batch.\n\n" +
		"Lines starting with ! are problems; with any, the exit code is 1. --output json prints one\n" +
		"JSON object per line: per batch (with its records), per index entry, per problem.\n\n" +
		"--cluster-metadata-decoder reads records as the cluster metadata log's (__cluster_metadata-0):\n" +
		"each metadata record as payload: {\"type\":\"TOPIC_RECORD\",\"version\":0,\"data\":{...}} and each\n" +
		"control record by its type (LeaderChange, SnapshotHeader, SnapshotFooter). A snapshot\n" +
		"(<offset>-<epoch>.checkpoint) is always read so.",
	examples: `
		weir dump-log --files /var/lib/weir/orders-0/00000000000000000000.log
		weir dump-log --print-data-log --files orders-0/00000000000000000000.log
		weir dump-log --files orders-0/00000000000000000000.index,orders-0/00000000000000000000.timeindex
		weir dump-log --files orders-0/00000000000000004096.snapshot
		weir dump-log --verify-index-only --files orders-0/00000000000000368769.log
		weir dump-log --deep-iteration --output json orders-0/00000000000000000000.log | jq .records
		weir dump-log --cluster-metadata-decoder --files __cluster_metadata-0/00000000000000000000.log
		weir dump-log --files __cluster_metadata-0/00000000000000000042-0000000001.checkpoint`,
}

// dumper prints files and counts the problems it finds in them.
type dumper struct {
	w          *bufio.Writer
	json       bool
	deep       bool // decode every record
	data       bool // and print keys, headers and payloads
	verifyOnly bool // index entries: print only the mismatches
	metadata   bool // decode records as the cluster metadata log's
	problems   int
}

// DumpLog runs `weir dump-log`.
func DumpLog(args []string, io IO) int {
	var (
		files []string
		d     dumper
		out   output
	)
	fs := newFlags(dumpLogCmd, io)
	fs.StringSliceVar(&files, "files", nil, "files to print, comma-separated (file names may also follow the flags)")
	fs.BoolVar(&d.data, "print-data-log", false, "print each record's key, headers and payload (implies --deep-iteration)")
	fs.BoolVar(&d.deep, "deep-iteration", false, "decode and print every record, not only batch headers")
	fs.BoolVar(&d.metadata, "cluster-metadata-decoder", false,
		"decode records as the cluster metadata log's: metadata and control records (implies --deep-iteration)")
	fs.BoolVar(&d.verifyOnly, "verify-index-only", false,
		"for index files (or the indexes next to a .log) print only the entries that do not match the log")
	out.register(fs)
	if code, done := parseFlags(fs, dumpLogCmd, args, io); done {
		return code
	}
	files = append(files, fs.Args()...)
	if len(files) == 0 {
		return usageError(dumpLogCmd, io, "--files is required")
	}
	if err := out.check(); err != nil {
		return usageError(dumpLogCmd, io, "%v", err)
	}
	d.json, d.deep = out.json(), d.deep || d.data || d.metadata
	d.w = bufio.NewWriterSize(io.Out, 64<<10)
	failed := 0
	for _, path := range files {
		if err := d.dumpFile(path); err != nil {
			d.w.Flush()
			fmt.Fprintf(io.Err, "weir dump-log: %v\n", err)
			failed++
		}
	}
	d.w.Flush()
	switch {
	case failed > 0:
		return failure(dumpLogCmd, io, "%d of %d files could not be read", failed, len(files))
	case d.problems > 0:
		return failure(dumpLogCmd, io, "problems found: %d", d.problems)
	}
	return exitOK
}

func (d *dumper) dumpFile(path string) error {
	switch {
	case strings.HasSuffix(path, ".log") && d.verifyOnly:
		return d.verifyIndexesOf(path)
	case strings.HasSuffix(path, ".log"):
		return d.dumpSegment(path)
	case strings.HasSuffix(path, offsetIndexKind.suffix):
		return d.dumpIndex(path, offsetIndexKind)
	case strings.HasSuffix(path, timeIndexKind.suffix):
		return d.dumpIndex(path, timeIndexKind)
	case isProducerSnapshot(path):
		return d.dumpProducerSnapshot(path)
	case strings.HasSuffix(path, ".checkpoint"):
		meta, deep := d.metadata, d.deep
		d.metadata, d.deep = true, true
		defer func() { d.metadata, d.deep = meta, deep }()
		return d.dumpSnapshot(path)
	}
	return fmt.Errorf("%s: not a .log, .index, .timeindex, producer snapshot (.snapshot) or metadata snapshot (.checkpoint) file", path)
}

// baseOffsetFromName reads the base offset from a segment file's name:
// 20 decimal digits, then the suffix.
func baseOffsetFromName(path string) (int64, bool) {
	name := filepath.Base(path)
	digits, _, _ := strings.Cut(name, ".")
	if len(digits) != 20 {
		return -1, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 {
		return -1, false
	}
	return n, true
}

// problemJSON is a problem that belongs to no batch or entry.
type problemJSON struct {
	File     string `json:"file"`
	Position int64  `json:"position"`
	Problem  string `json:"problem"`
}

// problem prints and counts one problem found at pos in file.
func (d *dumper) problem(file string, pos int64, format string, args ...any) {
	d.problems++
	msg := fmt.Sprintf(format, args...)
	if d.json {
		writeJSONLine(d.w, problemJSON{file, pos, msg})
		return
	}
	fmt.Fprintf(d.w, "! position %d: %s\n", pos, msg)
}

// say prints a line for people; JSON output leaves it out.
func (d *dumper) say(format string, args ...any) {
	if !d.json {
		fmt.Fprintf(d.w, format+"\n", args...)
	}
}
