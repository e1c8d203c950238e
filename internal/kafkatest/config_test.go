package kafkatest

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestServerConfig(t *testing.T) {
	cfg := serverConfig(nodeConfig{port: 9092, controllerPort: 9093, dataDir: "/tmp/data"}, Options{
		Partitions:              4,
		DisableAutoCreateTopics: true,
		Config:                  map[string]string{"log.retention.ms": "1000", "min.insync.replicas": "1"},
	})
	for _, want := range []string{
		"process.roles=broker,controller\n",
		"node.id=1\n",
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
		"controller.quorum.bootstrap.servers=127.0.0.1:9093\n",
		"log.dirs=/tmp/data\n",
		"num.partitions=4\n",
		"offsets.topic.replication.factor=1\n",
		"transaction.state.log.replication.factor=1\n",
		"transaction.state.log.min.isr=1\n",
		"group.initial.rebalance.delay.ms=0\n",
		"auto.create.topics.enable=false\n",
		"log.retention.ms=1000\n",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("server.properties lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "controller.quorum.voters") {
		t.Error("--standalone formatting needs controller.quorum.voters unset")
	}
}

func TestNewClusterID(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, err := newClusterID()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(raw) != 16 || len(id) != 22 || strings.HasPrefix(id, "-") {
			t.Fatalf("bad cluster id %q (%d bytes, err %v)", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("cluster id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestFreePorts(t *testing.T) {
	ps, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0] == ps[1] || ps[1] == ps[2] || ps[0] == ps[2] {
		t.Fatalf("ports %v not distinct", ps)
	}
}
