# bench/lib/build.bash: what a benchmark measures, taken from the build tree it is given. Source
# it, then
#   bench_built BUILD_DIR RELATIVE_PATH
# prints BUILD_DIR/RELATIVE_PATH (absolute) when it is a file there, else says so on stderr and
# exits 2: the path is where the project's CMake puts the target (handler/handler_rbdtier.so,
# bench/<area>/<binary>), never whatever file of that name a search of the tree meets first (a
# build tree also holds packaging test builds, rpm-test/ and the like, of older sources).
#   bench_describe FILE
# prints one line naming FILE with its size and modification time, for the benchmark's output.

bench_built() {
    local build=$1 rel=$2
    if [[ ! -f $build/$rel ]]; then
        echo "run.sh: $rel is not built in $build (cmake --build $build --target $(basename "$rel" .so))" >&2
        exit 2
    fi
    echo "$(cd "$build" && pwd)/$rel"
}

bench_describe() {
    stat -c '%n (%s bytes, modified %y)' "$1"
}
