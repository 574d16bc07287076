package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// verifyCLI runs the command line in process and returns what it printed
// and its exit status.
func verifyCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, args...)
}

// instanceLog writes one instance directory: an xlog with the rows given
// as (type, replica id, lsn, body) written as single-row transactions.
type logRow struct {
	typ  box.RowType
	id   uint32
	lsn  uint64
	body []byte
}

func writeInstance(t *testing.T, dir, uuid string, start format.VClock, rows ...logRow) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "3.6.3-0-g1",
		Instance: uuid, VClock: start, HasVClock: true}
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true, NoCompress: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := 1700000000.0
	for _, r := range rows {
		ts++
		h := format.Header{Type: r.typ, ReplicaID: r.id, LSN: r.lsn, TSN: r.lsn, Commit: true, Timestamp: ts}
		if err := w.Write(&h, r.body); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func replaceBody(key uint64) []byte {
	b := []byte{0x82, 0x10}
	b = format.AppendUint(b, 513)
	b = append(b, 0x21, 0x91)
	return format.AppendUint(b, key)
}

func promoteBody(term uint64) []byte {
	return format.AppendSynchroBody(nil, &format.Synchro{Term: term, HasTerm: true})
}

func asyncRows(id uint32, n int) []logRow {
	var rows []logRow
	for i := 1; i <= n; i++ {
		rows = append(rows, logRow{box.TypeReplace, id, uint64(i), replaceBody(uint64(i))})
	}
	return rows
}

func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func TestVerifyExitCodes(t *testing.T) {
	root := t.TempDir()
	clean := writeInstance(t, filepath.Join(root, "clean"), uuidN(1), format.VClock{}, asyncRows(1, 3)...)
	out, _, code := verifyCLI(t, "verify", clean)
	if code != 0 || !strings.Contains(out, "0 error(s)") || !strings.Contains(out, "clean") {
		t.Fatalf("clean: exit %d\n%s", code, out)
	}

	damaged := writeInstance(t, filepath.Join(root, "damaged"), uuidN(1), format.VClock{}, asyncRows(1, 3)...)
	files, _ := filepath.Glob(filepath.Join(damaged, "*.xlog"))
	data, _ := os.ReadFile(files[0])
	data[len(data)-10] ^= 0xff // inside the last block's payload
	os.WriteFile(files[0], data, 0o644)
	out, _, code = verifyCLI(t, "verify", "x="+damaged)
	if code != 1 || !strings.Contains(out, "[crc-mismatch]") || !strings.Contains(out, "ERRORS (") {
		t.Fatalf("damaged: exit %d\n%s", code, out)
	}
	if i, j := strings.Index(out, "INSTANCE"), strings.Index(out, "ERRORS"); i < 0 || j < i {
		t.Fatalf("the summary does not come first:\n%s", out)
	}

	for _, args := range [][]string{
		{"verify"},
		{"verify", filepath.Join(root, "missing")},
		{"verify", t.TempDir()},                // no log files
		{"verify", "a=" + clean, "a=" + clean}, // one name twice
		{"verify", "=" + clean},
		{"verify", files[0]}, // a file, not a directory
	} {
		_, errOut, code := verifyCLI(t, args...)
		if code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestVerifyJSON(t *testing.T) {
	root := t.TempDir()
	a := writeInstance(t, filepath.Join(root, "a"), uuidN(1), format.VClock{},
		logRow{box.TypePromote, 1, 1, promoteBody(2)})
	b := writeInstance(t, filepath.Join(root, "b"), uuidN(2), format.VClock{},
		logRow{box.TypePromote, 2, 1, promoteBody(2)})
	out, _, code := verifyCLI(t, "verify", "--json", "a="+a, "b="+b)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var rep struct {
		Instances []map[string]any          `json:"instances"`
		VClocks   map[string]map[string]int `json:"vclocks"`
		Findings  []map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Instances) != 2 || rep.Instances[0]["name"] != "a" || rep.VClocks["b"]["2"] != 1 {
		t.Fatalf("instances %v vclocks %v", rep.Instances, rep.VClocks)
	}
	var split map[string]json.RawMessage
	for _, f := range rep.Findings {
		for _, k := range []string{"kind", "severity", "instance_uuid", "file", "offset", "replica_id",
			"lsn_from", "lsn_to", "term", "message", "evidence"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding without %q: %s", k, f["message"])
			}
		}
		_, one := f["instance"]
		_, many := f["instances"]
		if one == many {
			t.Errorf("finding must have exactly one of instance/instances: %s", f["message"])
		}
		if string(f["kind"]) == `"split-brain"` {
			split = f
		}
	}
	if split == nil {
		t.Fatalf("no split-brain finding:\n%s", out)
	}
	var insts []string
	json.Unmarshal(split["instances"], &insts)
	if string(split["severity"]) != `"error"` || string(split["term"]) != "2" || strings.Join(insts, ",") != "a,b" {
		t.Fatalf("split-brain finding %s %s %q", split["severity"], split["term"], insts)
	}
	var ev []map[string]json.RawMessage
	json.Unmarshal(split["evidence"], &ev)
	if len(ev) != 2 || !bytes.Contains(ev[0]["row"], []byte(`"PROMOTE"`)) {
		t.Fatalf("evidence %s", split["evidence"])
	}
}

func TestVerifyHTML(t *testing.T) {
	root := t.TempDir()
	a := writeInstance(t, filepath.Join(root, "a"), uuidN(1), format.VClock{},
		logRow{box.TypeRaft, 0, 1, format.AppendRaftBody(nil, &format.Raft{Term: 2, Vote: 1})},
		logRow{box.TypePromote, 1, 1, promoteBody(2)},
		logRow{box.TypeReplace, 1, 2, replaceBody(2)})
	b := writeInstance(t, filepath.Join(root, "b"), uuidN(2), format.VClock{},
		logRow{box.TypePromote, 2, 1, promoteBody(2)})
	page := filepath.Join(root, "report.html")
	out, _, code := verifyCLI(t, "verify", "--html", page, "a="+a, "b="+b)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	for _, want := range []string{"<svg", "split point 1:1", "split point 2:1", "split-brain", "PROMOTE", "</html>"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "<script", "src="} {
		if strings.Contains(html, bad) {
			t.Errorf("page is not self-contained: has %q", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	root := t.TempDir()
	a := writeInstance(t, filepath.Join(root, "a"), uuidN(1), format.VClock{}, asyncRows(1, 5)...)
	b := writeInstance(t, filepath.Join(root, "b"), uuidN(2), format.VClock{}, asyncRows(1, 3)...)
	out, _, code := verifyCLI(t, "diff", "a="+a, "b="+b)
	if code != 1 || !strings.Contains(out, "3 (-2)") || !strings.Contains(out, "behind: b by 2") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	out, _, code = verifyCLI(t, "diff", "--json", "a="+a, "b="+b)
	var rep struct {
		VClocks map[string]map[string]int `json:"vclocks"`
		Table   []struct {
			ReplicaID int               `json:"replica_id"`
			Max       int               `json:"max"`
			Ahead     []string          `json:"ahead"`
			Behind    map[string]uint64 `json:"behind"`
		} `json:"vclock_table"`
		Same bool `json:"same"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("exit %d %v\n%s", code, err, out)
	}
	if rep.VClocks["a"]["1"] != 5 || len(rep.Table) != 1 || rep.Table[0].Max != 5 || rep.Table[0].Behind["b"] != 2 || rep.Same {
		t.Fatalf("%+v", rep)
	}
	out, _, code = verifyCLI(t, "diff", "a="+a, "c="+a)
	if code != 0 || !strings.Contains(out, "same vclock") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, _, code = verifyCLI(t, "diff", filepath.Join(root, "nope")); code != 2 {
		t.Fatalf("missing dir: exit %d", code)
	}
}

// systemRows are the bootstrap rows of replica 1 naming the replica set
// (_schema 'cluster') and its first member (_cluster).
func systemRows(rs, member string) []logRow {
	str := func(b []byte, s string) []byte {
		if len(s) < 32 {
			return append(append(b, 0xa0|byte(len(s))), s...)
		}
		return append(append(b, 0xd9, byte(len(s))), s...)
	}
	schema := format.AppendUint([]byte{0x82, 0x10}, 272)
	schema = str(str(append(schema, 0x21, 0x92), "cluster"), rs)
	cluster := format.AppendUint([]byte{0x82, 0x10}, 320)
	cluster = str(format.AppendUint(append(cluster, 0x21, 0x92), 1), member)
	return []logRow{{box.TypeReplace, 1, 1, schema}, {box.TypeReplace, 1, 2, cluster}}
}

// withData appends n asynchronous rows of replica 1 after the system rows;
// tag makes the rows of different replica sets differ.
func withData(rows []logRow, n int, tag uint64) []logRow {
	for i := 3; i < 3+n; i++ {
		rows = append(rows, logRow{box.TypeReplace, 1, uint64(i), replaceBody(tag + uint64(i))})
	}
	return rows
}

// TestVerifyReplicasets: instances of two replica sets, both with a replica
// 1 of their own, are compared only within their replica set.
func TestVerifyReplicasets(t *testing.T) {
	root := t.TempDir()
	rsA, rsB := uuidN(100), uuidN(200)
	a := writeInstance(t, filepath.Join(root, "a"), uuidN(1), format.VClock{}, withData(systemRows(rsA, uuidN(1)), 5, 0)...)
	b := writeInstance(t, filepath.Join(root, "b"), uuidN(2), format.VClock{}, withData(systemRows(rsA, uuidN(1)), 5, 0)...)
	c := writeInstance(t, filepath.Join(root, "c"), uuidN(3), format.VClock{}, withData(systemRows(rsB, uuidN(3)), 3, 1000)...)

	out, _, code := verifyCLI(t, "verify", "--json", "a="+a, "b="+b, "c="+c)
	var rep struct {
		Instances   []map[string]any `json:"instances"`
		Replicasets []struct {
			UUID      string   `json:"uuid"`
			Instances []string `json:"instances"`
		} `json:"replicasets"`
		Table []struct {
			ReplicaID  int    `json:"replica_id"`
			Origin     string `json:"origin"`
			Replicaset int    `json:"replicaset"`
		} `json:"vclock_table"`
		Counts struct {
			Errors int            `json:"errors"`
			ByKind map[string]int `json:"by_kind"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("exit %d %v\n%s", code, err, out)
	}
	if len(rep.Replicasets) != 2 || rep.Replicasets[0].UUID != rsA || strings.Join(rep.Replicasets[0].Instances, ",") != "a,b" ||
		rep.Replicasets[1].UUID != rsB || strings.Join(rep.Replicasets[1].Instances, ",") != "c" {
		t.Fatalf("replica sets %+v", rep.Replicasets)
	}
	if rep.Counts.Errors != 0 || rep.Counts.ByKind["foreign-replicaset"] != 1 || rep.Instances[2]["replicaset_uuid"] != rsB {
		t.Fatalf("counts %+v, c %v", rep.Counts, rep.Instances[2])
	}
	if len(rep.Table) != 2 || rep.Table[0].Origin != "a" || rep.Table[1].Origin != "c" || rep.Table[1].Replicaset != 1 {
		t.Fatalf("vclock table %+v", rep.Table)
	}

	out, _, code = verifyCLI(t, "verify", "a="+a, "b="+b, "c="+c)
	for _, want := range []string{"REPLICA SET " + rsA + ": a, b", "REPLICA SET " + rsB + ": c", "[foreign-replicaset]", "replica 1 (c)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("exit %d, lacks %q:\n%s", code, want, out)
		}
	}

	// diff: one table per replica set; c ends below a and b, which is no
	// difference since it is another replica set.
	out, _, code = verifyCLI(t, "diff", "a="+a, "b="+b, "c="+c)
	if code != 0 || !strings.Contains(out, "REPLICA SET "+rsB+": c") || strings.Count(out, "VCLOCK  ") != 2 ||
		!strings.Contains(out, "each replica set have the same vclock") {
		t.Fatalf("diff: exit %d\n%s", code, out)
	}
	out, _, code = verifyCLI(t, "diff", "--json", "a="+a, "b="+b, "c="+c)
	if code != 0 || !strings.Contains(out, `"replicasets"`) || !strings.Contains(out, `"replicaset_uuid": "`+rsB+`"`) {
		t.Fatalf("diff --json: exit %d\n%s", code, out)
	}
}
