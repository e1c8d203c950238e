#!/usr/bin/env bash
# Resolves Apache Kafka (kafka_2.13) and its runtime dependencies with Maven
# into .cache/kafka/libs, plus reload4j + slf4j-reload4j for broker logging.
# internal/kafkatest runs the broker from these jars: java -cp 'libs/*' kafka.Kafka.
set -euo pipefail
# shellcheck source=deploy/setup/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="${KAFKA_VERSION:-3.9.2}"
SCALA="2.13"
SLF4J="1.7.36"
RELOAD4J="1.2.25"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
LIBS="$REPO/.cache/kafka/libs"
STAMP="$REPO/.cache/kafka/kafka.stamp"
KEY="${SCALA}-${VERSION}-slf4j${SLF4J}-reload4j${RELOAD4J}"

if stamp_ok "$STAMP" "$KEY" && compgen -G "$LIBS/kafka_${SCALA}-${VERSION}.jar" >/dev/null; then
	exit 0
fi

STORE="$QEGATE_CACHE_HOME/kafka/$KEY"
if ! compgen -G "$STORE/libs/kafka_${SCALA}-${VERSION}.jar" >/dev/null; then
	need mvn java
	log "resolving kafka_${SCALA}:${VERSION} and its runtime dependencies with Maven"
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.qegate.setup</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA}</artifactId><version>${VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${SLF4J}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>${SLF4J}</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>${RELOAD4J}</version></dependency>
  </dependencies>
</project>
POM
	if ! mvn -B -Dstyle.color=never -f "$work/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
		-DincludeScope=runtime -DoutputDirectory="$work/out/libs" >"$work/mvn.log" 2>&1; then
		cat "$work/mvn.log" >&2
		die "mvn dependency:copy-dependencies failed"
	fi
	# Smoke check: the storage tool must load from these jars.
	if ! out="$(java -cp "$work/out/libs/*" kafka.tools.StorageTool random-uuid 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "kafka.tools.StorageTool does not start from the resolved jars"
	fi
	echo "$KEY" >"$work/out/VERSION"
	publish "$work/out" "$STORE"
fi

rm -rf "$LIBS.tmp"
mkdir -p "$(dirname "$LIBS")"
cp -a "$STORE/libs" "$LIBS.tmp"
rm -rf "$LIBS"
mv "$LIBS.tmp" "$LIBS"
echo "$KEY" >"$STAMP"
log "installed $(find "$LIBS" -name '*.jar' | wc -l) jars into $LIBS (kafka $VERSION)"
