package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"100", 100, false}, {"100B", 100, false}, {"16KiB", 16 << 10, false}, {"1MiB", 1 << 20, false},
		{"1mib", 1 << 20, false}, {"2GiB", 2 << 30, false}, {"64K", 64 << 10, false}, {"1MB", 1 << 20, false},
		{" 4 KiB ", 4 << 10, false}, {"", 0, true}, {"-1", 0, true}, {"1.5MiB", 0, true}, {"MiB", 0, true},
		{"12XB", 0, true},
	} {
		got, err := parseSize(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d (error %v)", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestSizeNamesRoundTrip(t *testing.T) {
	for _, n := range []int{0, 100, 1000, 1 << 10, 16 << 10, 1536, 1 << 20, 3 << 30} {
		got, err := parseSize(size(n))
		if err != nil || got != n {
			t.Errorf("parseSize(size(%d) = %q) = %d, %v", n, size(n), got, err)
		}
	}
	if got := size(16 << 10); got != "16KiB" {
		t.Errorf("size(16KiB) = %q", got)
	}
	if l, err := sizeList("16KiB,128KiB,1MiB"); err != nil || len(l) != 3 || l[2] != 1<<20 {
		t.Errorf("sizeList = %v, %v", l, err)
	}
	if _, err := sizeList("16KiB,,1MiB"); err == nil {
		t.Error("sizeList accepted an empty item")
	}
}

func TestCount(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 100000: "100,000"} {
		if got := count(in); got != want {
			t.Errorf("count(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	for frac, want := range map[float64]string{
		-1: "[>         ]", 0: "[>         ]", 0.5: "[=====>    ]", 0.99: "[=========>]", 1: "[==========]", 2: "[==========]",
	} {
		if got := bar(frac, 10); got != want {
			t.Errorf("bar(%v) = %q, want %q", frac, got, want)
		}
	}
	var buf strings.Builder
	if newProgress(&buf) != nil {
		t.Error("a progress bar was drawn on a writer that is not a terminal")
	}
	var nilBar *progress // drawing on no terminal is a no-op
	nilBar.titled("x").start(time.Second, 0, nil, nil)
	nilBar.stop()
}
