"""Written once with chainrule 0.1.0 (commit bb56606): files the current release wrote, and their outputs."""
import numpy as np, pandas as pd, json
import chainrule as cr
from chainrule.model import TabularModel
out = "tests/data/release-0.1.0/"
rng = np.random.default_rng(7)
X = rng.standard_normal((40, 3))
net = cr.Sequential([cr.Dense(3, 5, rng=rng), cr.GELU(), cr.Dropout(0.25, rng=rng), cr.Dense(5, 2, rng=rng), cr.Softmax()])
cr.save(net, out + "sequential.safetensors")
np.save(out + "sequential_input.npy", X)
np.save(out + "sequential_output.npy", net.predict(X))
# estimators
from sklearn.datasets import make_classification, make_regression
Xc, yc = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
clf = cr.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(Xc, yc)
cr.save(clf, out + "mlpclassifier.safetensors")
np.save(out + "classifier_input.npy", Xc)
np.save(out + "classifier_proba.npy", clf.predict_proba(Xc))
Xr, yr = make_regression(n_samples=60, n_features=3, random_state=0)
reg = cr.MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0).fit(Xr, yr)
cr.save(reg, out + "mlpregressor.safetensors")
np.save(out + "regressor_input.npy", Xr)
np.save(out + "regressor_output.npy", reg.predict(Xr))
# tabular
frame = pd.DataFrame({"a": rng.standard_normal(50), "color": rng.choice(["red", "green", "blue"], 50)})
frame["label"] = np.where(frame["a"] + (frame["color"] == "red") > 0.3, "yes", "no")
import inspect
print(inspect.signature(TabularModel.fit))
tab, _ = TabularModel.fit(frame, "label", hidden=(4,), epochs=5, batch_size=16, seed=0)
cr.save(tab, out + "tabular.safetensors")
frame.to_csv(out + "tabular_input.csv", index=False)
np.save(out + "tabular_proba.npy", tab.predict_proba(frame))
