#!/usr/bin/env bash
# check_completion.sh RBDTIER COMPLETION: the bash completion (conf/bash-completion.rbdtier)
# completes rbdtier's subcommands, nested subcommands, options and --format values, as a user
# pressing TAB would get them. Prints "N passed, N failed".
set -uo pipefail
cli=${1:?usage: check_completion.sh RBDTIER COMPLETION}
completion=${2:?usage: check_completion.sh RBDTIER COMPLETION}
if [[ ! -r /usr/share/bash-completion/bash_completion ]]; then
    echo "check_completion: bash-completion not installed; skipped" >&2
    exit 77
fi
# shellcheck source=/dev/null
source /usr/share/bash-completion/bash_completion
# shellcheck source=/dev/null
source "$completion"
passed=0
failed=0
expect() { # expect "WORDS..." EXPECTED: completing the last word of WORDS gives EXPECTED
    local -a words
    read -r -a words <<<"$1"
    [[ -z $1 || $1 == *" " ]] && words+=("")
    COMP_WORDS=("$cli" "${words[@]}")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$cli $1"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _rbdtier
    if [[ "${COMPREPLY[*]}" == "$2" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "check_completion: 'rbdtier $1<TAB>' gave '${COMPREPLY[*]}', expected '$2'"
    fi
}
top=$("$cli" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}' | tr '\n' ' ')
expect "" "${top% }"
expect "te" "tenant"
expect "tenant " "list show create set"
expect "tenant create --pri" "--priority"
expect "lun re" "remove repair"
expect "lun ev" "evacuate"
expect "lun remove --f" "--force --format"
expect "status --format " "table json"
expect "migrations --fo" "--follow --format"
expect "replay --generate p" "periodic"
echo "$passed passed, $failed failed"
((failed == 0))
