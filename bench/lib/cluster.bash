# bench/lib/cluster.bash: a local cluster of the benchmark's own, for bench/*/run.sh. Source it,
# then call bench_cluster_start NAME [cluster.sh start options, e.g. --steady]: starts
# tests/cluster/cluster.sh (or $RBDTIER_CLUSTER_SH) in a new directory /tmp/rbdtier-NAME.XXXXXX
# with those options and sets `dir` (that directory) and `conf` (its
# ceph.conf). On exit the cluster is stopped, then whatever it started that still runs is stopped
# by the PIDs it recorded (only a process whose command line names the directory, never one that
# reused the PID), and the directory is removed. Needs `repo` (the source tree) set.

bench_cluster_stop() {
    "$cluster_sh" stop "$dir" >/dev/null 2>&1 || true
    local f pid
    while IFS= read -r f; do
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done < <(find "$dir" -name '*.pid' 2>/dev/null)
    rm -rf "$dir"
}

bench_cluster_start() {
    cluster_sh=${RBDTIER_CLUSTER_SH:-$repo/tests/cluster/cluster.sh}
    [[ -x $cluster_sh ]] || { echo "run.sh: no cluster script at $cluster_sh" >&2; exit 2; }
    dir=$(mktemp -d "/tmp/rbdtier-$1.XXXXXX")
    shift
    trap bench_cluster_stop EXIT
    echo "starting cluster in $dir" >&2
    "$cluster_sh" start "$dir" "$@" >&2
    conf=$dir/ceph.conf
    [[ -f $conf ]] || { echo "run.sh: cluster has no $conf" >&2; exit 2; }
}
