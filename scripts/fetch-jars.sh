#!/bin/sh
# Fetch the Java jars the Spark tests and examples need (docs/scale-out.md) from Maven Central
# into jars/ (not in git), checking each against the SHA-1 Maven Central publishes beside it,
# and those of the REST catalog tests' server into jars/rest-catalog/ (through Maven).
# Called by scripts/setup.sh; safe to run again (a jar already there and correct is kept).
set -eu
DEST="${JARS_DIR:-jars}"
REPO="${MAVEN_REPO:-https://repo1.maven.org/maven2}"
# Iceberg's Spark runtime for the pyspark pinned in pyproject.toml (4.1, Scala 2.13), and the
# SQLite JDBC driver through which Spark's Iceberg JdbcCatalog reads our SQL catalog, and
# Iceberg's AWS bundle (S3FileIO with the AWS SDK) for a warehouse in a bucket (s3://...)
JARS="org/apache/iceberg/iceberg-spark-runtime-4.1_2.13/1.12.0/iceberg-spark-runtime-4.1_2.13-1.12.0.jar
org/xerial/sqlite-jdbc/3.54.1.0/sqlite-jdbc-3.54.1.0.jar
org/apache/iceberg/iceberg-aws-bundle/1.12.0/iceberg-aws-bundle-1.12.0.jar"
mkdir -p "$DEST"
for jar in $JARS; do
    name="$(basename "$jar")"
    want="$(curl -fsSL "$REPO/$jar.sha1" | cut -c1-40)"
    if [ -f "$DEST/$name" ] && [ "$(sha1sum "$DEST/$name" | cut -c1-40)" = "$want" ]; then
        continue
    fi
    curl -fsSL -o "$DEST/$name.part" "$REPO/$jar"
    got="$(sha1sum "$DEST/$name.part" | cut -c1-40)"
    if [ "$got" != "$want" ]; then
        rm -f "$DEST/$name.part"
        echo "$name: SHA-1 $got, Maven Central says $want" >&2
        exit 1
    fi
    mv "$DEST/$name.part" "$DEST/$name"
    echo "fetched $name"
done
# Iceberg's REST catalog test server (org.apache.iceberg:iceberg-open-api, test fixtures) and
# its dependencies for tests/lake/rest_catalog.py: Maven resolves them from
# scripts/rest-catalog/pom.xml into jars/rest-catalog/. Done again only when that pom changed
# (its SHA-1 is kept beside the jars once the copy is complete).
POM="$(dirname "$0")/rest-catalog/pom.xml"
REST="$DEST/rest-catalog"
pom_sum="$(sha1sum "$POM" | cut -c1-40)"
if [ "$(cat "$REST/.pom.sha1" 2>/dev/null || true)" != "$pom_sum" ]; then
    if command -v mvn >/dev/null 2>&1; then
        rm -rf "$REST.part"
        mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
            -DoutputDirectory="$(cd "$DEST" && pwd)/rest-catalog.part"
        echo "$pom_sum" > "$REST.part/.pom.sha1"
        rm -rf "$REST"
        mv "$REST.part" "$REST"
        echo "fetched the REST catalog server's jars into $REST"
    else
        echo "Maven (mvn) not found: the REST catalog tests will be skipped (and fail on CI);" \
             "Debian/Ubuntu: sudo apt-get install maven" >&2
    fi
fi
