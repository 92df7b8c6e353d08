package app

import (
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2026-03-03T14:02:00Z", now, false},
		{"2026-03-03T15:02:00+01:00", now, false},
		{"2026-03-03", time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), false},
		{"2026-03-03 14:02", now, false},
		{"now", now, false},
		{"2h", now.Add(-2 * time.Hour), false},
		{"3 days ago", now.Add(-72 * time.Hour), false},
		{"90m ago", now.Add(-90 * time.Minute), false},
		{"1w", now.Add(-7 * 24 * time.Hour), false},
		{"last tuesday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseWhen(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
