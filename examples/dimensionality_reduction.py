"""
VAE codes as features, tuned by GridSearchCV
============================================

Autoencoder codes as features for a classifier, tuned by GridSearchCV.

The latent dimension is chosen by the downstream classifier's accuracy in
cross-validation, exactly as for PCA; inverse_transform maps codes back to
images.

    python examples/dimensionality_reduction.py
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
pipeline = Pipeline([
    ("scale", MinMaxScaler(clip=True)),
    ("vae", VAETransformer(max_epochs=100, random_state=0)),
    ("knn", KNeighborsClassifier()),
])
search = GridSearchCV(pipeline, {"vae__n_components": [2, 5, 10]}, scoring="accuracy", cv=3, n_jobs=2)
search.fit(X_train, y_train)
print("best:", search.best_params_, f"cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# the same model maps codes back to (scaled) images
vae = search.best_estimator_.named_steps["vae"]
codes = vae.transform(search.best_estimator_.named_steps["scale"].transform(X_test))
print("codes", codes.shape, "-> reconstructions", vae.inverse_transform(codes).shape)
# and the estimator's own score (the ELBO) picks a model without labels
own = GridSearchCV(VAETransformer(max_epochs=100, random_state=0), {"n_components": [2, 5, 10]}, cv=3)
own.fit(MinMaxScaler(clip=True).fit_transform(X_train))
print("best by ELBO:", own.best_params_, f"{own.best_score_:.2f} nats")
