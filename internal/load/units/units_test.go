package units

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestParseSize_Good ensures sizes read with every suffix form, as powers of 1024.
func TestParseSize_Good(t *testing.T) {
	f := func(s string, want int64) {
		t.Helper()
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	f("0", 0)
	f("4096", 4096)
	f(" 64K ", 64<<10)
	f("16MiB", 16<<20)
	f("1gb", 1<<30)
	f("2T", 2<<40)
	f("100B", 100)
	f("4KiB", 4096)
	f("1_048_576", 1<<20)
}

// TestParseCount_Good ensures counts read as powers of 1000, underscores included.
func TestParseCount_Good(t *testing.T) {
	f := func(s string, want int64) {
		t.Helper()
		if got, err := ParseCount(s); err != nil || got != want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	f("1_000", 1000)
	f("200K", 200_000)
	f("3m", 3_000_000)
	f("1G", 1_000_000_000)
	f("20k", 20_000)
}

// TestParse_Bad ensures malformed, negative, fractional and overflowing numbers are refused
// with ErrBadNumber, by both parsers.
func TestParse_Bad(t *testing.T) {
	for _, s := range []string{"", "K", "-1", "1.5M", "9300000T", "12Q", "x", "1 K", "--5", "9223372036854775808"} {
		for name, parse := range map[string]func(string) (int64, error){"ParseSize": ParseSize, "ParseCount": ParseCount} {
			got, err := parse(s)
			if !errors.Is(err, ErrBadNumber) || got != 0 {
				t.Errorf("%s(%q) = %d, %v; want 0, ErrBadNumber", name, s, got, err)
			}
		}
	}
}

// TestDuration checks the three significant digits at the unit boundaries.
func TestDuration(t *testing.T) {
	f := func(d time.Duration, want string) {
		t.Helper()
		if got := Duration(d); got != want {
			t.Errorf("Duration(%d) = %q, want %q", int64(d), got, want)
		}
	}
	f(-5, "0ns")
	f(0, "0ns")
	f(999, "999ns")
	f(time.Microsecond, "1.00µs")
	f(1250*time.Nanosecond, "1.25µs")
	f(12500*time.Nanosecond, "12.5µs")
	f(254*time.Microsecond, "254µs")
	f(time.Millisecond, "1.00ms")
	f(72200*time.Microsecond, "72.2ms")
	f(3*time.Second, "3.00s")
	f(2*time.Hour, "7200s")
}

// TestRate checks the SI suffixes and the text of undefined rates.
func TestRate(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := Rate(v); got != want {
			t.Errorf("Rate(%v) = %q, want %q", v, got, want)
		}
	}
	f(0, "0")
	f(7.4, "7")
	f(950, "950")
	f(12345, "12.3K")
	f(1.25e6, "1.25M")
	f(3e9, "3.00G")
	f(math.NaN(), "n/a")
	f(math.Inf(1), "n/a")
}

// TestBytes checks the binary units from bytes to TiB.
func TestBytes(t *testing.T) {
	f := func(n int64, want string) {
		t.Helper()
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
	f(-1, "0 B")
	f(0, "0 B")
	f(1023, "1023 B")
	f(1536, "1.50 KiB")
	f(312<<20, "312 MiB")
	f(1<<30, "1.00 GiB")
	f(5<<40, "5.00 TiB")
	f(3000<<40, "3000 TiB")
}

// TestSig3 checks the number of decimals on each side of 10 and 100.
func TestSig3(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := Sig3(v); got != want {
			t.Errorf("Sig3(%v) = %q, want %q", v, got, want)
		}
	}
	f(0.456, "0.46")
	f(9.994, "9.99")
	f(12.34, "12.3")
	f(250, "250")
	f(1234.5, "1234")
}
