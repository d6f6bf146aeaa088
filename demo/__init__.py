"""The demo store: the one place that starts the broker, the reference head office, a store's device and
its screen together (``./run-demo``). The product's packages never import it.

- ``store``: Mosquitto, the reference head office (``central.responder``), one device's agent, the demo
  chain from ``assets/demo/``, and the demo's clock;
- ``kiosk``: the kiosk window on that store, and the scripted shopper;
- ``signage``: the signage screen, its scripted override, and the demo's pictures;
- ``__main__``: ``./run-demo``'s command line.
"""
