import EmoCFG
import Hummingbird
