# ns_lib.sh — cleanup shared by the kernel tests' libraries (sourced, not
# a test): stop the processes a test started, delete its namespaces.
#
# Two hazards this file exists for:
# - pid reuse.  pid_max is 32768 on many machines, and a test such as
#   rel_reload_traffic forks hundreds of thousands of processes, so by
#   cleanup time the pid of a background job that ended long ago belongs
#   to some other process of the machine.  Only pids that are still live
#   jobs of this shell are signalled: a job that has not been reaped
#   cannot have its pid reused.
# - a namespace that silently stays.  `ip netns del` is checked, retried,
#   and a failure is reported with its reason and left for scripts/test's
#   leftover check to count, never hidden.

# ns_live_jobs PID...: those of PID that are still jobs of this shell,
# running or stopped.
ns_live_jobs() {
	local live p
	live=" $(jobs -rp | tr '\n' ' ') $(jobs -sp | tr '\n' ' ') "
	for p in "$@"; do
		case $live in *" $p "*) echo "$p" ;; esac
	done
}

# ns_stop_jobs PID...: SIGTERM those still running, give each up to 5 s
# (a hang guard: they all stop on SIGTERM in milliseconds), then SIGKILL
# what is left.
ns_stop_jobs() {
	local p pids
	pids=$(ns_live_jobs "$@")
	[ -n "$pids" ] || return 0
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do
		timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null
	done
	for p in $(ns_live_jobs $pids); do kill -9 "$p" 2>/dev/null; done
	return 0
}

# ns_exists NAME: whether a named network namespace NAME exists.
ns_exists() { [ -e "/run/netns/$1" ]; }

# ns_del NAME...: kill what still runs inside each namespace, delete it,
# and make sure it is gone (5 tries, 0.2 s apart).  Prints why when a
# namespace cannot be deleted; returns 1 then.
ns_del() {
	local ns p i err rc=0
	for ns in "$@"; do
		[ -n "$ns" ] || continue
		ns_exists "$ns" || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		for i in 1 2 3 4 5; do
			err=$(ip netns del "$ns" 2>&1)
			ns_exists "$ns" || break
			sleep 0.2
		done
		if ns_exists "$ns"; then
			echo "ns_del: cannot delete namespace $ns: ${err:-no error given}" >&2
			findmnt -n "/run/netns/$ns" >&2 2>/dev/null
			rc=1
		fi
	done
	return $rc
}

# ns_switch_add SW: a namespace SW whose bridge br0 is the hosts' switch.
ns_switch_add() {
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
	ip -n "$1" link add br0 type bridge || return 1
	ip -n "$1" link set br0 up
}

# ns_switch_attach SW NS PORT ADDR/LEN: a new namespace NS whose eth0
# (ADDR/LEN) is a veth to port PORT of SW's bridge.  The pair is made
# straight into the two namespaces: the root namespace never holds it.
ns_switch_attach() {
	local sw=$1 ns=$2 port=$3 tmp=sgv$$$3
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	ip link add "$tmp" netns "$ns" type veth peer name "$port" netns "$sw" || return 1
	ip -n "$ns" link set "$tmp" name eth0
	ip -n "$ns" addr add "$4" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$sw" link set "$port" master br0
	ip -n "$sw" link set "$port" up
}
