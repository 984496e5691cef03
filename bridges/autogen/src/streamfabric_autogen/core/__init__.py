"""The log protocol, once for every framework: job consumer, fenced writer, turn state, conversation
rebuild, human in the loop, coalescing, registry, agent pools, dead letters. Adapters (../adapters)
plug a framework in through adapter.py."""
